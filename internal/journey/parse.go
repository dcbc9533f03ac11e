package journey

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/outreach-engine/outreach/internal/channel"
)

// MaxFileSize bounds a journey file.
const MaxFileSize = 1 << 20

// ParseFile reads and parses a journey file; see Parse.
func ParseFile(path string) (Definition, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Definition{}, err
	}
	if info.Size() > MaxFileSize {
		return Definition{}, Problems{{Msg: fmt.Sprintf("file is %d bytes, more than the %d allowed", info.Size(), MaxFileSize)}}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return Definition{}, err
	}
	return Parse(src)
}

// Parse reads a journey definition from YAML and validates it. The error,
// when not nil, is Problems: every problem found, by line, in file order.
func Parse(src []byte) (Definition, error) {
	p := &parser{}
	d := p.parse(src)
	if len(p.errs) == 0 || !p.fatal {
		if err := d.Validate(); err != nil {
			p.errs = append(p.errs, err.(Problems)...)
		}
	}
	if len(p.errs) == 0 {
		return d, nil
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
	return d, p.errs
}

type parser struct {
	errs Problems
	// fatal is set when the file is not a journey at all, so that
	// validation would only repeat the problem.
	fatal bool
}

func (p *parser) add(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, Problem{Line: line, Msg: fmt.Sprintf(format, args...)})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) parse(src []byte) (d Definition) {
	var doc yaml.Node
	if err := unmarshal(src, &doc); err != nil {
		p.fatal = true
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			p.errs = append(p.errs, Problem{Line: line, Msg: "not valid YAML: " + m[2]})
		} else {
			p.errs = append(p.errs, Problem{Msg: "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")})
		}
		return d
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		p.fatal = true
		p.add(&doc, "a journey file is a mapping with name, version and steps")
		return d
	}
	d.pos = positions{line: doc.Content[0].Line, fields: map[string]int{}}
	p.mapping(doc.Content[0], func(key string, k, v *yaml.Node) {
		d.pos.fields[key] = k.Line
		switch key {
		case "name":
			d.Name = p.str(v)
		case "version":
			d.Version = p.integer(v)
		case "description":
			p.str(v)
		case "exit_on":
			d.ExitOn = p.strList(v)
		case "templates":
			d.Templates = p.templates(v, &d.pos)
		case "steps":
			if v.Kind != yaml.SequenceNode {
				p.add(v, "steps must be a list")
				return
			}
			for _, sn := range v.Content {
				d.Steps = append(d.Steps, p.step(sn))
			}
		default:
			p.add(k, "unknown field %q (want name, version, description, exit_on, templates, steps)", key)
		}
	})
	return d
}

// unmarshal guards against a panic in the YAML library turning into a crash
// of the caller: a malformed file is a problem to report, nothing more.
func unmarshal(src []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return yaml.Unmarshal(src, n)
}

// mapping calls fn for each key of a mapping node, reporting duplicates.
func (p *parser) mapping(n *yaml.Node, fn func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.add(n, "expected a mapping of fields")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(k, "field names must be plain words")
			continue
		}
		if seen[k.Value] {
			p.add(k, "field %q is given twice", k.Value)
			continue
		}
		seen[k.Value] = true
		fn(k.Value, k, v)
	}
}

func (p *parser) str(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		p.add(n, "expected a single value")
		return ""
	}
	if n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

func (p *parser) integer(n *yaml.Node) int {
	s := p.str(n)
	v, err := strconv.Atoi(s)
	if err != nil && n.Kind == yaml.ScalarNode {
		p.add(n, "%q is not a whole number", s)
	}
	return v
}

func (p *parser) strList(n *yaml.Node) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{p.str(n)}
	}
	if n.Kind != yaml.SequenceNode {
		p.add(n, "expected a list")
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, p.str(c))
	}
	return out
}

func (p *parser) duration(n *yaml.Node, pos *positions, field string) time.Duration {
	s := p.str(n)
	if n.Kind != yaml.ScalarNode {
		pos.bad(field)
		return 0
	}
	d, err := ParseDuration(s)
	if err != nil {
		pos.bad(field)
		p.add(n, "%s: %v", field, err)
	}
	return d
}

func (p *parser) templates(n *yaml.Node, pos *positions) map[string]Template {
	out := map[string]Template{}
	p.mapping(n, func(name string, k, v *yaml.Node) {
		pos.fields["templates."+name] = k.Line
		var t Template
		p.mapping(v, func(key string, k, v *yaml.Node) {
			switch key {
			case "subject":
				t.Subject = p.str(v)
			case "body":
				t.Body = p.str(v)
			case "audience":
				p.structured(v, &t.Audience, "template "+name+": audience")
			case "claims":
				p.structured(v, &t.Claims, "template "+name+": claims")
			case "categories":
				p.structured(v, &t.Categories, "template "+name+": categories")
			case "addressing":
				p.structured(v, &t.Addressing, "template "+name+": addressing")
			case "surface":
				t.Surface = p.str(v)
			default:
				p.add(k, "template %s: unknown field %q (want subject, body, audience, claims, categories, addressing, surface)", name, key)
			}
		})
		out[name] = t
	})
	return out
}

// stepFields lists the fields each step type accepts besides id, type and next.
var stepFields = map[StepKind][]string{
	StepSend:      {"channel", "intent", "template", "fallback_channel", "max_defer"},
	StepWait:      {"duration", "until"},
	StepWaitFor:   {"on", "timeout", "on_timeout"},
	StepBranch:    {"attribute", "outcome_of", "cases", "default"},
	StepSplit:     {"variants"},
	StepHumanCall: {"reason", "deadline", "fallback", "template"},
	StepExit:      {},
}

func (p *parser) step(n *yaml.Node) Step {
	s := Step{pos: positions{line: n.Line, fields: map[string]int{}}}
	if n.Kind != yaml.MappingNode {
		p.add(n, "a step is a mapping with id, type and the type's fields")
		return s
	}
	// Read the type first, so that fields can be checked against it.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" {
			s.Kind = StepKind(p.str(n.Content[i+1]))
		}
	}
	if s.Kind == "" {
		p.add(n, "step has no type (want one of %s)", kindList())
		s.Kind = "(none)"
	}
	p.mapping(n, func(key string, k, v *yaml.Node) {
		s.pos.fields[key] = k.Line
		switch key {
		case "id":
			s.ID = p.str(v)
			return
		case "type":
			return
		case "next":
			s.Next = p.str(v)
			return
		}
		allowed, known := stepFields[s.Kind]
		if known && !slices.Contains(allowed, key) {
			p.add(k, "step %s: unknown field %q for a %s step (want %s)", s.ID, key, s.Kind, strings.Join(append([]string{"id", "type", "next"}, allowed...), ", "))
			return
		}
		switch key {
		case "channel":
			s.Channel = channel.Name(p.str(v))
		case "intent":
			s.Intent = channel.Intent(p.str(v))
		case "template":
			s.Template = p.str(v)
		case "fallback_channel":
			s.FallbackChannel = channel.Name(p.str(v))
		case "max_defer":
			s.MaxDefer = p.duration(v, &s.pos, key)
		case "duration":
			s.Wait = p.duration(v, &s.pos, key)
		case "until":
			s.Until = p.str(v)
		case "timeout":
			s.Timeout = p.duration(v, &s.pos, key)
		case "deadline":
			s.Deadline = p.duration(v, &s.pos, key)
		case "on_timeout":
			s.OnTimeout = p.str(v)
		case "on":
			p.mapping(v, func(event string, k, v *yaml.Node) {
				s.pos.fields["on."+event] = k.Line
				s.Events = append(s.Events, EventBranch{Event: event, Goto: p.str(v)})
			})
		case "attribute":
			s.Attribute = p.str(v)
		case "outcome_of":
			s.OutcomeOf = p.str(v)
		case "default":
			s.Default = p.str(v)
		case "cases":
			p.list(v, func(i int, item *yaml.Node) {
				s.pos.fields[fmt.Sprintf("cases.%d", i)] = item.Line
				var c Case
				p.mapping(item, func(key string, k, v *yaml.Node) {
					switch key {
					case "when":
						c.When = p.str(v)
					case "goto":
						c.Goto = p.str(v)
					default:
						p.add(k, "step %s: unknown field %q in a case (want when, goto)", s.ID, key)
					}
				})
				s.Cases = append(s.Cases, c)
			})
		case "variants":
			p.list(v, func(i int, item *yaml.Node) {
				s.pos.fields[fmt.Sprintf("variants.%d", i)] = item.Line
				var vr Variant
				p.mapping(item, func(key string, k, v *yaml.Node) {
					switch key {
					case "name":
						vr.Name = p.str(v)
					case "weight":
						vr.Weight = p.integer(v)
					case "goto":
						vr.Goto = p.str(v)
					default:
						p.add(k, "step %s: unknown field %q in a variant (want name, weight, goto)", s.ID, key)
					}
				})
				s.Variants = append(s.Variants, vr)
			})
		case "reason":
			s.Reason = p.str(v)
		case "fallback":
			s.FallbackStep = p.str(v)
		}
	})
	return s
}

func (p *parser) list(n *yaml.Node, fn func(i int, item *yaml.Node)) {
	if n.Kind != yaml.SequenceNode {
		p.add(n, "expected a list")
		return
	}
	for i, item := range n.Content {
		fn(i, item)
	}
}

// structured decodes a YAML value into one of the template metadata types,
// whose field names are their JSON names; unknown fields are problems.
func (p *parser) structured(n *yaml.Node, into any, what string) {
	var raw any
	if err := n.Decode(&raw); err != nil {
		p.add(n, "%s: %v", what, err)
		return
	}
	b, err := json.Marshal(raw)
	if err != nil {
		p.add(n, "%s: %v", what, err)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		p.add(n, "%s: %v", what, strings.TrimPrefix(err.Error(), "json: "))
	}
}
