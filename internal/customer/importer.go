package customer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// LineError is a rejected line of an import file.
type LineError struct {
	Line int
	Err  error
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// maxLine bounds one JSON line; a customer record is far smaller.
const maxLine = 1 << 20

// ParseJSONL reads one JSON customer per line. Blank lines are skipped. Each
// bad line becomes a LineError naming the line and the field; every good line
// is returned. The error return is only for a failure to read r.
func ParseJSONL(r io.Reader) ([]Customer, []LineError, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	var (
		good []Customer
		bad  []LineError
		n    int
	)
	seen := map[string]int{}
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		c, err := parseLine(line)
		if err == nil {
			if first, dup := seen[c.ID]; dup {
				err = &FieldError{"id", fmt.Sprintf("%q already appears on line %d", c.ID, first)}
			}
		}
		if err != nil {
			bad = append(bad, LineError{Line: n, Err: err})
			continue
		}
		seen[c.ID] = n
		good = append(good, c)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return good, append(bad, LineError{Line: n + 1, Err: fmt.Errorf("line longer than %d bytes", maxLine)}), nil
		}
		return good, bad, err
	}
	return good, bad, nil
}

func parseLine(line []byte) (Customer, error) {
	var c Customer
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			return c, &FieldError{typeErr.Field, fmt.Sprintf("expected %s, got JSON %s", typeErr.Type, typeErr.Value)}
		case errors.As(err, &syntaxErr):
			return c, fmt.Errorf("malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
		default:
			return c, fmt.Errorf("malformed JSON: %v", err)
		}
	}
	if dec.More() {
		return c, errors.New("malformed JSON: more than one value on the line")
	}
	c.Normalize()
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}
