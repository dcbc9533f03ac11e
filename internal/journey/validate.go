package journey

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/outreach-engine/outreach/internal/channel"
)

// MaxEncodedSize bounds a definition's JSON encoding. The definition travels
// in the workflow input (and again at every continue-as-new), where Temporal
// refuses payloads over 2 MB; a quarter of a megabyte leaves ample room.
const MaxEncodedSize = 256 << 10

var (
	nameSyntax = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	idSyntax   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
)

type checker struct {
	d    Definition
	errs Problems
}

func (c *checker) add(line int, format string, args ...any) {
	c.errs = append(c.errs, Problem{Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks that the definition can run: names, step kinds, channels,
// intents, durations, jumps to steps that exist, reachability, split
// weights, templates and size. It returns nil or Problems, each naming the
// step it concerns and, for a parsed file, its line.
func (d Definition) Validate() error {
	c := &checker{d: d}
	c.definition()
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

func (c *checker) definition() {
	d := c.d
	if strings.TrimSpace(d.Name) == "" {
		c.add(d.pos.at("name"), "journey name is empty")
	} else if !nameSyntax.MatchString(d.Name) {
		c.add(d.pos.at("name"), "journey name %q must be lower-case letters, digits, '-' or '_' (it is part of workflow ids)", d.Name)
	}
	if d.Version < 1 {
		c.add(d.pos.at("version"), "version must be 1 or more, got %d", d.Version)
	}
	if len(d.Steps) == 0 {
		c.add(d.pos.at("steps"), "journey has no steps")
	}
	for _, e := range d.ExitOn {
		if !slices.Contains(ExitEvents, e) {
			c.add(d.pos.at("exit_on"), "exit_on: unknown event %q (want one of %s)", e, strings.Join(ExitEvents, ", "))
		}
	}
	seen := make(map[string]bool, len(d.Steps))
	for i, s := range d.Steps {
		if s.ID == "" {
			c.add(s.pos.line, "step %d: id is empty", i+1)
		} else if !idSyntax.MatchString(s.ID) {
			c.add(s.pos.at("id"), "step %d: id %q must be letters, digits, '-', '_' or '.'", i+1, s.ID)
		} else if seen[s.ID] {
			c.add(s.pos.at("id"), "step %s: duplicate step id", s.ID)
		}
		seen[s.ID] = true
	}
	for i := range d.Steps {
		c.step(i)
	}
	c.templates()
	if len(c.errs) == 0 {
		c.reachability()
		c.busyLoops()
	}
	if len(c.errs) == 0 {
		if b, err := json.Marshal(d); err != nil {
			c.add(0, "journey cannot be encoded: %v", err)
		} else if len(b) > MaxEncodedSize {
			c.add(0, "journey is %d bytes encoded, more than the %d allowed in a workflow input", len(b), MaxEncodedSize)
		}
	}
}

// target checks a jump to another step.
func (c *checker) target(s Step, field, id string) {
	if id != "" && c.d.StepIndex(id) < 0 {
		c.add(s.pos.at(field), "step %s: %s goes to step %q, which does not exist", s.ID, field, id)
	}
}

func (c *checker) positive(s Step, field string, v interface{ Nanoseconds() int64 }) {
	if v.Nanoseconds() <= 0 && !s.pos.unparsed[field] {
		c.add(s.pos.at(field), "step %s: %s must be a positive duration such as 36h, 3d or 2w", s.ID, field)
	}
}

func (c *checker) step(i int) {
	s := c.d.Steps[i]
	c.target(s, "next", s.Next)
	switch s.Kind {
	case StepSend:
		c.send(s)
	case StepWait:
		switch {
		case s.Wait != 0 && s.Until != "":
			c.add(s.pos.line, "step %s: give either a duration or until, not both", s.ID)
		case s.Until != "":
			if _, err := ParseUntil(s.Until); err != nil {
				c.add(s.pos.at("until"), "step %s: %v", s.ID, err)
			}
		default:
			c.positive(s, "duration", s.Wait)
		}
	case StepWaitFor:
		if len(s.Events) == 0 {
			c.add(s.pos.line, "step %s: wait_for needs at least one event (one of %s)", s.ID, strings.Join(WaitEvents, ", "))
		}
		seen := map[string]bool{}
		for _, e := range s.Events {
			if !slices.Contains(WaitEvents, e.Event) {
				c.add(s.pos.at("on."+e.Event), "step %s: unknown event %q (want one of %s)", s.ID, e.Event, strings.Join(WaitEvents, ", "))
			} else if seen[e.Event] {
				c.add(s.pos.at("on."+e.Event), "step %s: event %q is listed twice", s.ID, e.Event)
			}
			seen[e.Event] = true
			c.target(s, "on."+e.Event, e.Goto)
		}
		c.positive(s, "timeout", s.Timeout)
		c.target(s, "on_timeout", s.OnTimeout)
	case StepBranch:
		c.branch(i, s)
	case StepSplit:
		if len(s.Variants) < 2 {
			c.add(s.pos.line, "step %s: a split needs at least two variants", s.ID)
		}
		sum, names := 0, map[string]bool{}
		for k, v := range s.Variants {
			field := fmt.Sprintf("variants.%d", k)
			if v.Name == "" {
				c.add(s.pos.at(field), "step %s: variant %d has no name", s.ID, k+1)
			} else if names[v.Name] {
				c.add(s.pos.at(field), "step %s: variant %q is listed twice", s.ID, v.Name)
			}
			names[v.Name] = true
			if v.Weight <= 0 {
				c.add(s.pos.at(field), "step %s: variant %q: weight must be positive, got %d", s.ID, v.Name, v.Weight)
			}
			sum += v.Weight
			c.target(s, field, v.Goto)
		}
		if len(s.Variants) >= 2 && sum != 100 {
			c.add(s.pos.at("variants"), "step %s: variant weights sum to %d, want 100", s.ID, sum)
		}
	case StepHumanCall:
		if strings.TrimSpace(s.Reason) == "" {
			c.add(s.pos.line, "step %s: human_call needs a reason the caller can read", s.ID)
		}
		c.positive(s, "deadline", s.Deadline)
		if s.FallbackStep == "" {
			c.add(s.pos.line, "step %s: human_call needs a fallback step, taken when no one calls in time", s.ID)
		}
		c.target(s, "fallback", s.FallbackStep)
		if _, ok := c.d.Templates[s.Template]; s.Template != "" && !ok {
			c.add(s.pos.at("template"), "step %s: talking points template %q is not defined", s.ID, s.Template)
		}
	case StepExit:
	default:
		c.add(s.pos.at("type"), "step %s: unknown step type %q (want one of %s)", s.ID, s.Kind, kindList())
	}
}

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func (c *checker) send(s Step) {
	if !s.Channel.Valid() {
		c.add(s.pos.at("channel"), "step %s: unknown channel %q (want email, sms, voice or mail)", s.ID, s.Channel)
	}
	if !s.Intent.Valid() {
		c.add(s.pos.at("intent"), "step %s: unknown intent %q (want transactional, caring or promotional)", s.ID, s.Intent)
	}
	if s.FallbackChannel != "" {
		if !s.FallbackChannel.Valid() {
			c.add(s.pos.at("fallback_channel"), "step %s: unknown fallback channel %q (want email, sms, voice or mail)", s.ID, s.FallbackChannel)
		} else if s.FallbackChannel == s.Channel {
			c.add(s.pos.at("fallback_channel"), "step %s: fallback channel is the step's own channel", s.ID)
		}
	}
	if s.MaxDefer < 0 {
		c.add(s.pos.at("max_defer"), "step %s: max_defer must not be negative, got %s", s.ID, s.MaxDefer)
	}
	// A robot must not say it cares: caring messages never go out as an
	// automated voice call; a human_call step is the way to call.
	if s.Intent == channel.Caring && (s.Channel == channel.Voice || s.FallbackChannel == channel.Voice) {
		c.add(s.pos.at("channel"), "step %s: a caring message cannot be sent as an automated voice call; use a human_call step", s.ID)
	}
	t, ok := c.d.Templates[s.Template]
	switch {
	case s.Template == "":
		c.add(s.pos.line, "step %s: send needs a template", s.ID)
	case !ok:
		c.add(s.pos.at("template"), "step %s: template %q is not defined", s.ID, s.Template)
	default:
		if _, ok := c.d.Templates[s.Fallback]; s.Fallback != "" && !ok {
			c.add(s.pos.line, "step %s: fallback template %q is not defined", s.ID, s.Fallback)
		}
		for _, err := range t.metadataErrors(string(s.Channel)) {
			c.add(s.pos.at("template"), "step %s: template %q: %v", s.ID, s.Template, err)
		}
	}
}

func (c *checker) templates() {
	names := make([]string, 0, len(c.d.Templates))
	for name := range c.d.Templates {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := CheckTemplate(c.d.Templates[name]); err != nil {
			c.add(c.d.pos.at("templates."+name), "template %s: %v", name, err)
		}
	}
}

func (c *checker) branch(i int, s Step) {
	switch {
	case s.Attribute == "" && s.OutcomeOf == "":
		c.add(s.pos.line, "step %s: a branch needs attribute or outcome_of", s.ID)
	case s.Attribute != "" && s.OutcomeOf != "":
		c.add(s.pos.line, "step %s: a branch takes attribute or outcome_of, not both", s.ID)
	case s.OutcomeOf != "":
		if j := c.d.StepIndex(s.OutcomeOf); j < 0 {
			c.add(s.pos.at("outcome_of"), "step %s: outcome_of names step %q, which does not exist", s.ID, s.OutcomeOf)
		} else if j == i {
			c.add(s.pos.at("outcome_of"), "step %s: outcome_of names the branch itself", s.ID)
		}
	}
	if len(s.Cases) == 0 {
		c.add(s.pos.line, "step %s: a branch needs at least one case", s.ID)
	}
	for k, cs := range s.Cases {
		field := fmt.Sprintf("cases.%d", k)
		if cs.Goto == "" {
			c.add(s.pos.at(field), "step %s: case %q has no goto", s.ID, cs.When)
		}
		c.target(s, field, cs.Goto)
	}
	c.target(s, "default", s.Default)
}

// reachability reports steps that no path from the first step reaches.
func (c *checker) reachability() {
	d := c.d
	reached := make([]bool, len(d.Steps))
	queue := []int{0}
	reached[0] = true
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, id := range d.Targets(i) {
			if j := d.StepIndex(id); j >= 0 && !reached[j] {
				reached[j] = true
				queue = append(queue, j)
			}
		}
	}
	for i, s := range d.Steps {
		if !reached[i] {
			c.add(s.pos.line, "step %s is unreachable: no step goes to it", s.ID)
		}
	}
}

// busyLoops reports a cycle of steps that never waits: a journey that
// would go round it for ever without pause (sending on every lap).
func (c *checker) busyLoops() {
	d := c.d
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(d.Steps))
	var visit func(i int) bool
	visit = func(i int) bool {
		state[i] = onPath
		for _, id := range d.Targets(i) {
			j := d.StepIndex(id)
			if j < 0 || d.Steps[j].Kind == StepWait || d.Steps[j].Kind == StepWaitFor {
				continue
			}
			if state[j] == onPath {
				c.add(d.Steps[j].pos.line, "step %s: the journey can loop back to it without a wait or wait_for step in between", d.Steps[j].ID)
				return true
			}
			if state[j] == unseen && visit(j) {
				return true
			}
		}
		state[i] = done
		return false
	}
	for i, s := range d.Steps {
		if state[i] == unseen && s.Kind != StepWait && s.Kind != StepWaitFor && visit(i) {
			return
		}
	}
}

// CheckTemplate renders t over sample data, with every attribute it names
// present, so that syntax errors and references to fields customers do not
// have are caught before a journey starts.
func CheckTemplate(t Template) error {
	data := SampleData()
	for _, text := range []string{t.Subject, t.Body} {
		tpl, err := template.New("t").Parse(text)
		if err != nil {
			continue // Render reports the syntax error with its position.
		}
		for _, t := range tpl.Templates() {
			if t.Tree != nil {
				collectAttributes(t.Tree.Root, data.Attributes)
			}
		}
	}
	_, err := Render(t, data)
	return err
}

// collectAttributes adds a sample value for every .Attributes.key the tree
// refers to.
func collectAttributes(root parse.Node, into map[string]any) {
	walk(root, func(n parse.Node) {
		if f, ok := n.(*parse.FieldNode); ok && len(f.Ident) >= 2 && f.Ident[0] == "Attributes" {
			into[f.Ident[1]] = "sample"
		}
	})
}

// walk calls fn for every node of a template tree.
func walk(n parse.Node, fn func(parse.Node)) {
	if n == nil {
		return
	}
	fn(n)
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(c, fn)
		}
	case *parse.ActionNode:
		walk(n.Pipe, fn)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, cmd := range n.Cmds {
			for _, arg := range cmd.Args {
				walk(arg, fn)
			}
		}
	case *parse.IfNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, fn)
	case *parse.TemplateNode:
		walk(n.Pipe, fn)
	}
}

func walkBranch(b *parse.BranchNode, fn func(parse.Node)) {
	walk(b.Pipe, fn)
	if b.List != nil {
		walk(b.List, fn)
	}
	if b.ElseList != nil {
		walk(b.ElseList, fn)
	}
}
