package audience

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gopkg.in/yaml.v3"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/store"
)

// Segment is a named, parameterized filter over customer data: every
// predicate must hold (they are AND-ed). It is written in YAML:
//
//	name: lapsed
//	description: No order in the last N days, opted in to email
//	params:
//	  days: 90                 # a default; its type (int) is the param's type
//	where:
//	  - consent: email
//	  - days_since: last_order_at
//	    op: ">="
//	    value: $days           # a parameter reference
//	    missing: include       # customers who never ordered count too
//
// Values are always passed to Postgres as query parameters, never spliced
// into the SQL text.
type Segment struct {
	Name        string
	Description string
	Params      []Param
	Where       []Predicate
}

// ParamType is the type of a segment parameter.
type ParamType string

// Parameter types.
const (
	TypeInt    ParamType = "int"
	TypeNumber ParamType = "number"
	TypeString ParamType = "string"
	TypeBool   ParamType = "bool"
)

// Param is one segment parameter. A parameter without a default must be
// given on the command line (--param name=value).
type Param struct {
	Name        string
	Type        ParamType
	Default     any // nil when required
	Description string
}

// Predicate is one condition. Exactly one of Consent, Interest, Attribute,
// TimeZone and DaysSince is set.
type Predicate struct {
	Line int `yaml:"-"`
	// Consent: the customer granted consent on this channel.
	Consent any `yaml:"consent"`
	// Interest: the customer stated this interest.
	Interest any `yaml:"interest"`
	// Attribute compares attributes[KEY] with Value using Op.
	Attribute string `yaml:"attribute"`
	// TimeZone: the customer's time zone is this one (or one of a list).
	TimeZone any `yaml:"time_zone"`
	// DaysSince compares the whole days since the date in attributes[KEY]
	// with Value using Op.
	DaysSince string `yaml:"days_since"`
	Op        string `yaml:"op"`
	Value     any    `yaml:"value"`
	// Missing says whether a customer without the attribute matches a
	// days_since predicate: "exclude" (the default) or "include".
	Missing string `yaml:"missing"`
}

var (
	nameSyntax = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	keySyntax  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,63}$`)
)

// ops maps the accepted spellings of a comparison to its SQL operator.
var ops = map[string]string{
	"eq": "=", "=": "=", "==": "=",
	"ne": "<>", "!=": "<>", "<>": "<>",
	"lt": "<", "<": "<", "le": "<=", "<=": "<=",
	"gt": ">", ">": ">", "ge": ">=", ">=": ">=",
	"in": "in", "exists": "exists", "missing": "missing",
}

type segmentFile struct {
	Name        string               `yaml:"name"`
	Description string               `yaml:"description"`
	Params      map[string]yaml.Node `yaml:"params"`
	Where       []yaml.Node          `yaml:"where"`
}

// ParseSegment reads a segment file. Errors name the line they concern.
func ParseSegment(r io.Reader) (Segment, error) {
	var f segmentFile
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return Segment{}, fmt.Errorf("segment: %w", err)
	}
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: "+format, append([]any{line}, args...)...))
	}
	s := Segment{Name: f.Name, Description: f.Description}
	if !nameSyntax.MatchString(s.Name) {
		errs = append(errs, fmt.Errorf("name: %q must be lower-case letters, digits, '-' or '_', starting with a letter", s.Name))
	}
	for _, name := range slices.Sorted(maps.Keys(f.Params)) {
		node := f.Params[name]
		p, err := parseParam(name, &node)
		if err != nil {
			bad(node.Line, "param %s: %v", name, err)
			continue
		}
		s.Params = append(s.Params, p)
	}
	if len(f.Where) == 0 {
		errs = append(errs, errors.New("where: a segment needs at least one predicate"))
	}
	for i := range f.Where {
		node := &f.Where[i]
		var p Predicate
		if err := knownKeys(node, predicateKeys); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := node.Decode(&p); err != nil {
			bad(node.Line, "where: %v", err)
			continue
		}
		p.Line = node.Line
		if err := s.checkPredicate(p); err != nil {
			bad(node.Line, "%v", err)
			continue
		}
		s.Where = append(s.Where, p)
	}
	return s, errors.Join(errs...)
}

var predicateKeys = []string{"consent", "interest", "attribute", "time_zone", "days_since", "op", "value", "missing"}

// knownKeys rejects a mapping key that is not in keys (a typo such as
// "vlaue" must not silently drop a condition).
func knownKeys(node *yaml.Node, keys []string) error {
	if node.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a predicate is a mapping such as {consent: email}", node.Line)
	}
	for i := 0; i < len(node.Content); i += 2 {
		if k := node.Content[i].Value; !slices.Contains(keys, k) {
			return fmt.Errorf("line %d: unknown key %q (known: %s)", node.Content[i].Line, k, strings.Join(keys, ", "))
		}
	}
	return nil
}

func parseParam(name string, node *yaml.Node) (Param, error) {
	if !keySyntax.MatchString(name) {
		return Param{}, errors.New("name must be letters, digits and '_'")
	}
	p := Param{Name: name}
	if node.Kind == yaml.MappingNode {
		var long struct {
			Type        ParamType `yaml:"type"`
			Default     any       `yaml:"default"`
			Description string    `yaml:"description"`
		}
		if err := node.Decode(&long); err != nil {
			return Param{}, err
		}
		p.Type, p.Description = long.Type, long.Description
		if long.Default != nil {
			if p.Type == "" {
				p.Type = typeOf(long.Default)
			}
			v, err := convert(p.Type, long.Default)
			if err != nil {
				return Param{}, fmt.Errorf("default: %v", err)
			}
			p.Default = v
		}
	} else {
		var v any
		if err := node.Decode(&v); err != nil {
			return Param{}, err
		}
		if v == nil {
			return Param{}, errors.New("give a default, or {type: ..., description: ...} for a required parameter")
		}
		p.Type, p.Default = typeOf(v), v
	}
	switch p.Type {
	case TypeInt, TypeNumber, TypeString, TypeBool:
	default:
		return Param{}, fmt.Errorf("type %q is not one of int, number, string, bool", p.Type)
	}
	return p, nil
}

func typeOf(v any) ParamType {
	switch v.(type) {
	case int, int64:
		return TypeInt
	case float64:
		return TypeNumber
	case bool:
		return TypeBool
	}
	return TypeString
}

// convert turns v (from YAML or the command line) into a value of type t.
func convert(t ParamType, v any) (any, error) {
	s, isString := v.(string)
	switch t {
	case TypeInt:
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case int64:
			return x, nil
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); isString && err == nil {
			return n, nil
		}
		return nil, fmt.Errorf("%v is not a whole number", v)
	case TypeNumber:
		switch x := v.(type) {
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); isString && err == nil {
			return f, nil
		}
		return nil, fmt.Errorf("%v is not a number", v)
	case TypeBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		if b, err := strconv.ParseBool(strings.TrimSpace(s)); isString && err == nil {
			return b, nil
		}
		return nil, fmt.Errorf("%v is not true or false", v)
	}
	if isString {
		return s, nil
	}
	return fmt.Sprint(v), nil
}

func (s Segment) param(name string) (Param, bool) {
	for _, p := range s.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// paramRef returns the name of the parameter v refers to ("$days"), if any.
// "$$x" is the literal string "$x".
func paramRef(v any) (string, bool) {
	s, ok := v.(string)
	if !ok || !strings.HasPrefix(s, "$") || strings.HasPrefix(s, "$$") {
		return "", false
	}
	return s[1:], true
}

func (s Segment) checkPredicate(p Predicate) error {
	kinds := 0
	for _, set := range []bool{p.Consent != nil, p.Interest != nil, p.Attribute != "", p.TimeZone != nil, p.DaysSince != ""} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return errors.New("a predicate has exactly one of consent, interest, attribute, time_zone, days_since")
	}
	var refs []any
	switch {
	case p.Consent != nil:
		refs = append(refs, p.Consent)
		if _, isRef := paramRef(p.Consent); !isRef && !channel.Name(fmt.Sprint(p.Consent)).Valid() {
			return fmt.Errorf("consent: unknown channel %q (email, sms, voice, mail)", fmt.Sprint(p.Consent))
		}
	case p.Interest != nil:
		refs = append(refs, p.Interest)
	case p.TimeZone != nil:
		if list, ok := p.TimeZone.([]any); ok {
			refs = append(refs, list...)
		} else {
			refs = append(refs, p.TimeZone)
		}
		for _, z := range refs {
			if _, isRef := paramRef(z); isRef {
				continue
			}
			if _, err := time.LoadLocation(fmt.Sprint(z)); err != nil || fmt.Sprint(z) == "Local" {
				return fmt.Errorf("time_zone: %q is not an IANA time zone", fmt.Sprint(z))
			}
		}
	case p.Attribute != "", p.DaysSince != "":
		key, what := p.Attribute, "attribute"
		if p.DaysSince != "" {
			key, what = p.DaysSince, "days_since"
		}
		if !keySyntax.MatchString(key) {
			return fmt.Errorf("%s: %q is not an attribute name", what, key)
		}
		op, ok := ops[p.Op]
		if !ok {
			return fmt.Errorf("%s %s: op %q is not one of eq, ne, lt, le, gt, ge, in, exists, missing", what, key, p.Op)
		}
		switch {
		case op == "exists" || op == "missing":
			if p.Value != nil || what == "days_since" {
				return fmt.Errorf("%s %s: op %s takes no value and applies to attributes only", what, key, p.Op)
			}
		case p.Value == nil:
			return fmt.Errorf("%s %s: value is required", what, key)
		case op == "in":
			list, ok := p.Value.([]any)
			if !ok || what == "days_since" {
				return fmt.Errorf("%s %s: op in needs a list value", what, key)
			}
			refs = append(refs, list...)
		default:
			refs = append(refs, p.Value)
		}
		if what == "days_since" {
			if _, isRef := paramRef(p.Value); !isRef {
				if _, err := convert(TypeNumber, p.Value); err != nil {
					return fmt.Errorf("days_since %s: value %v is not a number of days", key, p.Value)
				}
			}
		}
		if p.Missing != "" && (what != "days_since" || (p.Missing != "include" && p.Missing != "exclude")) {
			return fmt.Errorf("%s %s: missing is include or exclude, on days_since only", what, key)
		}
	}
	for _, r := range refs {
		if name, ok := paramRef(r); ok {
			if _, ok := s.param(name); !ok {
				return fmt.Errorf("$%s is not a parameter of this segment", name)
			}
		}
	}
	return nil
}

// ParseParams turns the command line's name=value pairs into a map.
func ParseParams(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--param %q: want name=value", kv)
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

// Bind resolves the parameter values: given ones converted to the
// parameter's type, defaults for the rest. Unknown or missing ones are errors.
func (s Segment) Bind(given map[string]string) (map[string]any, error) {
	var errs []error
	out := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(given)) {
		if _, ok := s.param(name); !ok {
			names := make([]string, len(s.Params))
			for i, p := range s.Params {
				names[i] = p.Name
			}
			errs = append(errs, fmt.Errorf("segment %s has no parameter %q (it has: %s)", s.Name, name, strings.Join(names, ", ")))
		}
	}
	for _, p := range s.Params {
		raw, ok := given[p.Name]
		if !ok {
			if p.Default == nil {
				errs = append(errs, fmt.Errorf("segment %s: parameter %s is required (--param %s=...)", s.Name, p.Name, p.Name))
				continue
			}
			v, err := convert(p.Type, p.Default)
			if err != nil {
				errs = append(errs, err)
			}
			out[p.Name] = v
			continue
		}
		v, err := convert(p.Type, raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("--param %s: %v", p.Name, err))
			continue
		}
		out[p.Name] = v
	}
	return out, errors.Join(errs...)
}

// Query is compiled SQL with its arguments.
type Query struct {
	SQL  string
	Args []any
}

// Compile turns the segment into one parameterized query over customers that
// returns ids in order. now fixes "today" for days_since predicates.
func (s Segment) Compile(params map[string]any, now time.Time) (Query, error) {
	q := Query{}
	arg := func(v any) string {
		q.Args = append(q.Args, v)
		return "$" + strconv.Itoa(len(q.Args))
	}
	value := func(v any) any {
		if name, ok := paramRef(v); ok {
			return params[name]
		}
		if str, ok := v.(string); ok && strings.HasPrefix(str, "$$") {
			return str[1:]
		}
		return v
	}
	conds := []string{"c.account_type = 'customer'", "c.erased_at is null"}
	for _, p := range s.Where {
		switch {
		case p.Consent != nil:
			conds = append(conds, fmt.Sprintf(
				"exists (select 1 from consents k where k.customer_id = c.id and k.channel = %s and k.granted)",
				arg(fmt.Sprint(value(p.Consent)))))
		case p.Interest != nil:
			conds = append(conds, fmt.Sprintf("%s = any(c.interests)", arg(fmt.Sprint(value(p.Interest)))))
		case p.TimeZone != nil:
			zones := []string{}
			list, ok := p.TimeZone.([]any)
			if !ok {
				list = []any{p.TimeZone}
			}
			for _, z := range list {
				zones = append(zones, fmt.Sprint(value(z)))
			}
			conds = append(conds, fmt.Sprintf("c.time_zone = any(%s::text[])", arg(zones)))
		case p.DaysSince != "":
			key := arg(p.DaysSince)
			days, err := convert(TypeNumber, value(p.Value))
			if err != nil {
				return Query{}, fmt.Errorf("line %d: days_since %s: %v", p.Line, p.DaysSince, err)
			}
			expr := fmt.Sprintf("(%s::date - (case when c.attributes->>%s ~ '^\\d{4}-\\d{2}-\\d{2}' then (c.attributes->>%s)::date end)) %s %s::numeric",
				arg(now.UTC().Format(time.DateOnly)), key, key, ops[p.Op], arg(days))
			if p.Missing == "include" {
				expr = fmt.Sprintf("(c.attributes->>%s is null or %s)", key, expr)
			}
			conds = append(conds, expr)
		case p.Attribute != "":
			cond, err := attributeCond(p, value, arg)
			if err != nil {
				return Query{}, fmt.Errorf("line %d: attribute %s: %v", p.Line, p.Attribute, err)
			}
			conds = append(conds, cond)
		}
	}
	q.SQL = "select c.id from customers c where " + strings.Join(conds, "\n  and ") + "\norder by c.id"
	return q, nil
}

func attributeCond(p Predicate, value func(any) any, arg func(any) string) (string, error) {
	key := arg(p.Attribute)
	op := ops[p.Op]
	jsonArg := func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	}
	switch op {
	case "exists":
		return fmt.Sprintf("c.attributes ? %s", key), nil
	case "missing":
		return fmt.Sprintf("not (c.attributes ? %s)", key), nil
	case "in":
		var vals []string
		for _, v := range p.Value.([]any) {
			j, err := jsonArg(value(v))
			if err != nil {
				return "", err
			}
			vals = append(vals, j)
		}
		return fmt.Sprintf("c.attributes->%s = any(%s::text[]::jsonb[])", key, arg(vals)), nil
	case "=":
		j, err := jsonArg(value(p.Value))
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("c.attributes->%s = %s::jsonb", key, arg(j)), nil
	case "<>":
		j, err := jsonArg(value(p.Value))
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("c.attributes->%s is distinct from %s::jsonb", key, arg(j)), nil
	}
	v := value(p.Value)
	switch v.(type) {
	case int, int64, float64:
		return fmt.Sprintf("(case when jsonb_typeof(c.attributes->%s) = 'number' then (c.attributes->>%s)::numeric end) %s %s::numeric",
			key, key, op, arg(v)), nil
	case string:
		return fmt.Sprintf("(case when jsonb_typeof(c.attributes->%s) = 'string' then c.attributes->>%s end) %s %s::text",
			key, key, op, arg(v)), nil
	}
	return "", fmt.Errorf("op %s compares numbers or strings, not %v", p.Op, v)
}

// FromSegment runs the segment with the given parameters.
func FromSegment(ctx context.Context, db store.DB, s Segment, given map[string]string, now time.Time) (Audience, error) {
	params, err := s.Bind(given)
	if err != nil {
		return Audience{}, err
	}
	q, err := s.Compile(params, now)
	if err != nil {
		return Audience{}, err
	}
	rows, err := db.Query(ctx, q.SQL, q.Args...)
	if err != nil {
		return Audience{}, fmt.Errorf("segment %s: %w", s.Name, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return Audience{}, fmt.Errorf("segment %s: %w", s.Name, err)
	}
	var shown []string
	for _, p := range s.Params {
		shown = append(shown, fmt.Sprintf("%s=%v", p.Name, params[p.Name]))
	}
	src := "segment " + s.Name
	if len(shown) > 0 {
		src += " (" + strings.Join(shown, ", ") + ")"
	}
	return Audience{Source: src, IDs: ids}, nil
}

// SaveSegment stores a segment's definition in the database under its name,
// so that `--segment NAME` finds it without the file.
func SaveSegment(ctx context.Context, db store.DB, source []byte) (Segment, error) {
	s, err := ParseSegment(bytes.NewReader(source))
	if err != nil {
		return Segment{}, err
	}
	_, err = db.Exec(ctx, `
		insert into segments (name, description, definition) values ($1, $2, $3)
		on conflict (name) do update set description = excluded.description,
			definition = excluded.definition, updated_at = now()`,
		s.Name, s.Description, string(source))
	return s, err
}

// ErrNoSegment is returned when a segment is neither a file nor stored.
var ErrNoSegment = errors.New("no such segment")

// LoadStoredSegment reads a segment saved with SaveSegment.
func LoadStoredSegment(ctx context.Context, db store.DB, name string) (Segment, error) {
	var def string
	err := db.QueryRow(ctx, `select definition from segments where name = $1`, name).Scan(&def)
	if errors.Is(err, pgx.ErrNoRows) {
		return Segment{}, fmt.Errorf("%w: %q is neither a file nor a stored segment", ErrNoSegment, name)
	}
	if err != nil {
		return Segment{}, err
	}
	s, err := ParseSegment(strings.NewReader(def))
	if err != nil {
		return Segment{}, fmt.Errorf("stored segment %s: %w", name, err)
	}
	return s, nil
}
