// Package journey owns the definition of a customer journey: its steps, its
// message templates, the checks that make a definition runnable, and the
// rendering of templates over customer fields.
//
// A Definition travels inside the workflow input, so a running journey keeps
// the version it started with whatever happens to the file afterwards.
package journey

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/outreach-engine/outreach/internal/channel"
)

// StepKind says what a step does.
type StepKind string

const (
	// StepSend sends one message on a channel.
	StepSend StepKind = "send"
	// StepWait waits for a duration, or until a local time of the customer's day.
	StepWait StepKind = "wait"
	// StepWaitFor waits for a customer event (opened, clicked, ...) or a timeout.
	StepWaitFor StepKind = "wait_for"
	// StepBranch goes on to one of several steps, chosen by a customer
	// attribute or by what an earlier step did.
	StepBranch StepKind = "branch"
	// StepSplit assigns the customer to one of several weighted variants,
	// deterministically, for A/B/n tests.
	StepSplit StepKind = "split"
	// StepHumanCall asks a person to call the customer; never a robo-call.
	StepHumanCall StepKind = "human_call"
	// StepExit ends the journey.
	StepExit StepKind = "exit"
)

// Kinds lists every step kind in the order the documentation gives them.
var Kinds = []StepKind{StepSend, StepWait, StepWaitFor, StepBranch, StepSplit, StepHumanCall, StepExit}

func (k StepKind) valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Events are the customer events a wait_for step can wait for, and (with
// unsubscribed and bounced) the events that can end a journey early.
var (
	WaitEvents = []string{"opened", "clicked", "replied", "purchased", "call_completed"}
	ExitEvents = []string{"opened", "clicked", "replied", "purchased", "call_completed", "unsubscribed", "bounced"}
)

// Definition is a named, versioned journey.
type Definition struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Steps   []Step `json:"steps"`
	// Templates are looked up by name from send steps.
	Templates map[string]Template `json:"templates,omitempty"`
	// ExitOn lists the events that end the journey as soon as they arrive,
	// e.g. purchased for a cart-abandonment journey.
	ExitOn []string `json:"exit_on,omitempty"`

	pos positions
}

// Step is one step of a journey. Which fields matter depends on Kind. A step
// goes on to Next, or to the step after it in the file when Next is empty;
// reaching the end of the list ends the journey.
type Step struct {
	// ID names the step; it is unique within the journey and stable across
	// versions, because the ledger's idempotency key is built from it.
	ID   string   `json:"id"`
	Kind StepKind `json:"kind"`
	Next string   `json:"next,omitempty"`

	// Send fields. FallbackChannel is tried when the send on Channel is
	// blocked or fails. MaxDefer is how long the send may wait for the
	// throttle before it expires (promotions go stale, reminders don't); 0
	// takes the throttle policy's default for the intent.
	Channel         channel.Name   `json:"channel,omitempty"`
	Intent          channel.Intent `json:"intent,omitempty"`
	Template        string         `json:"template,omitempty"`
	FallbackChannel channel.Name   `json:"fallback_channel,omitempty"`
	MaxDefer        time.Duration  `json:"max_defer,omitempty"`

	// Fields of a send step that the routing policy gives to a person (see
	// internal/calltask): why the agent calls, how long the task stays open,
	// and the template of the personal email sent when no one called in time.
	CallReason   string        `json:"call_reason,omitempty"`
	CallDeadline time.Duration `json:"call_deadline,omitempty"`
	Fallback     string        `json:"fallback,omitempty"`

	// Wait fields: a duration, or Until, a local time of the customer's day
	// such as "next weekday 10:00" (see ParseUntil).
	Wait  time.Duration `json:"wait,omitempty"`
	Until string        `json:"until,omitempty"`

	// Wait-for fields: the first matching event since the journey's last
	// send wins; OnTimeout is taken when none arrives within Timeout.
	Events    []EventBranch `json:"events,omitempty"`
	Timeout   time.Duration `json:"timeout,omitempty"`
	OnTimeout string        `json:"on_timeout,omitempty"`

	// Branch fields: exactly one of Attribute (a customer attribute, looked
	// up by an activity) and OutcomeOf (the id of an earlier step, whose
	// result is compared: sent, blocked, failed, an event, timeout, a
	// variant name).
	Attribute string `json:"attribute,omitempty"`
	OutcomeOf string `json:"outcome_of,omitempty"`
	Cases     []Case `json:"cases,omitempty"`
	Default   string `json:"default,omitempty"`

	// Split fields: weights sum to 100.
	Variants []Variant `json:"variants,omitempty"`

	// Human-call fields: why the call is asked for, how long a caller has,
	// and the step the journey takes when no call is made in time.
	Reason       string        `json:"reason,omitempty"`
	Deadline     time.Duration `json:"deadline,omitempty"`
	FallbackStep string        `json:"fallback_step,omitempty"`

	pos positions
}

// EventBranch is one outcome of a wait_for step: on Event, go to Goto (the
// next step when empty).
type EventBranch struct {
	Event string `json:"event"`
	Goto  string `json:"goto,omitempty"`
}

// Case is one arm of a branch: when the value equals When, go to Goto.
type Case struct {
	When string `json:"when"`
	Goto string `json:"goto"`
}

// Variant is one arm of a split.
type Variant struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
	Goto   string `json:"goto,omitempty"`
}

// positions remembers the source lines of a parsed definition, by field
// name; it does not travel with the definition.
type positions struct {
	line   int
	fields map[string]int
	// unparsed names the fields whose value could not be read; validation
	// does not report them a second time.
	unparsed map[string]bool
}

func (p *positions) bad(field string) {
	if p.unparsed == nil {
		p.unparsed = map[string]bool{}
	}
	p.unparsed[field] = true
}

func (p positions) at(field string) int {
	if l, ok := p.fields[field]; ok {
		return l
	}
	return p.line
}

// Problem is one thing wrong with a journey definition, at a line of its
// file (0 when the definition did not come from a file).
type Problem struct {
	Line int
	Msg  string
}

// Problems is every problem found in a definition; it is the error that
// Parse and Validate return.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		if p.Line > 0 {
			fmt.Fprintf(&b, "line %d: ", p.Line)
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// Format renders the problems one a line as "FILE:LINE: problem".
func (ps Problems) Format(file string) string {
	var b strings.Builder
	for _, p := range ps {
		if p.Line > 0 {
			fmt.Fprintf(&b, "%s:%d: %s\n", file, p.Line, p.Msg)
		} else {
			fmt.Fprintf(&b, "%s: %s\n", file, p.Msg)
		}
	}
	return b.String()
}

// StepIndex returns the position of the step with the given id, or -1.
func (d Definition) StepIndex(id string) int {
	for i, s := range d.Steps {
		if s.ID == id {
			return i
		}
	}
	return -1
}

// Following returns the step a step goes on to when it has no reason to go
// elsewhere: its Next, else the step after it, else "" (the journey ends).
func (d Definition) Following(i int) string {
	if d.Steps[i].Next != "" {
		return d.Steps[i].Next
	}
	if i+1 < len(d.Steps) {
		return d.Steps[i+1].ID
	}
	return ""
}

// or returns target, or the step's following step when target is empty.
func (d Definition) or(i int, target string) string {
	if target != "" {
		return target
	}
	return d.Following(i)
}

// Targets returns every step that step i may go on to ("" is the end).
func (d Definition) Targets(i int) []string {
	s := d.Steps[i]
	switch s.Kind {
	case StepExit:
		return nil
	case StepWaitFor:
		out := []string{d.or(i, s.OnTimeout)}
		for _, e := range s.Events {
			out = append(out, d.or(i, e.Goto))
		}
		return out
	case StepBranch:
		out := []string{d.or(i, s.Default)}
		for _, c := range s.Cases {
			out = append(out, d.or(i, c.Goto))
		}
		return out
	case StepSplit:
		out := []string{}
		for _, v := range s.Variants {
			out = append(out, d.or(i, v.Goto))
		}
		return out
	case StepHumanCall:
		return []string{d.Following(i), d.or(i, s.FallbackStep)}
	}
	return []string{d.Following(i)}
}

// Template is a message template in Go text/template syntax over Data.
type Template struct {
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body"`

	// What the message says and to whom; see metadata.go.
	Audience   Audience   `json:"audience,omitzero"`
	Claims     []Claim    `json:"claims,omitempty"`
	Categories []string   `json:"categories,omitempty"`
	Addressing Addressing `json:"addressing,omitzero"`
	// Surface is "postcard" or "letter" for mail (a postcard when unset).
	Surface string `json:"surface,omitempty"`
}

// Data is what templates see: the customer's fields, never more.
type Data struct {
	CustomerID string
	Name       string
	FirstName  string
	Email      string
	Phone      string
	City       string
	Interests  []string
	Attributes map[string]any
}

// SampleData is a fully populated Data used to check that templates render.
func SampleData() Data {
	return Data{
		CustomerID: "c-sample", Name: "Ada Lovelace", FirstName: "Ada",
		Email: "ada@example.com", Phone: "+15555550100", City: "London",
		Interests: []string{"running"}, Attributes: map[string]any{},
	}
}

// Rendered is a template rendered for one customer.
type Rendered struct {
	Subject string
	Body    string
}

// ErrRender marks a template that cannot be rendered for a customer. It is a
// property of the template and the customer data, so retrying never helps.
var ErrRender = errors.New("template does not render")

// Render renders t over data. A reference to a field or attribute that does
// not exist, or a body that renders empty, is an error: a customer never gets
// a blank or half-filled message.
func Render(t Template, data Data) (Rendered, error) {
	subject, err := execute("subject", t.Subject, data)
	if err != nil {
		return Rendered{}, err
	}
	body, err := execute("body", t.Body, data)
	if err != nil {
		return Rendered{}, err
	}
	if strings.TrimSpace(body) == "" {
		return Rendered{}, fmt.Errorf("%w: body renders empty", ErrRender)
	}
	return Rendered{Subject: subject, Body: body}, nil
}

func execute(name, text string, data Data) (string, error) {
	if text == "" {
		return "", nil
	}
	tpl, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrRender, name, err)
	}
	for _, t := range tpl.Templates() {
		if t.Tree == nil {
			continue
		}
		var bad error
		walk(t.Tree.Root, func(n parse.Node) {
			if t, ok := n.(*parse.TemplateNode); ok && bad == nil {
				bad = fmt.Errorf("%w: %s: line %d: {{template}} is not supported in messages", ErrRender, name, lineOf(text, t.Position()))
			}
			if r, ok := n.(*parse.RangeNode); ok && bad == nil && !rangesOverField(r) {
				bad = fmt.Errorf("%w: %s: line %d: range may only go over a customer field such as .Interests", ErrRender, name, lineOf(text, r.Position()))
			}
		})
		if bad != nil {
			return "", bad
		}
	}
	b := &limitedBuilder{max: MaxRenderedSize}
	if err := tpl.Execute(b, data); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrRender, name, err)
	}
	return b.String(), nil
}

// MaxRenderedSize bounds a rendered subject or body.
const MaxRenderedSize = 64 << 10

// limitedBuilder stops a template that renders more than max bytes.
type limitedBuilder struct {
	strings.Builder
	max int
}

func (b *limitedBuilder) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("renders more than %d bytes", b.max)
	}
	return b.Builder.Write(p)
}

// rangesOverField reports whether a range goes over a field of the data
// (bounded by the customer's record), not over a number or a literal that
// could make rendering run for ever.
func rangesOverField(r *parse.RangeNode) bool {
	if r.Pipe == nil || len(r.Pipe.Cmds) != 1 || len(r.Pipe.Cmds[0].Args) != 1 {
		return false
	}
	_, ok := r.Pipe.Cmds[0].Args[0].(*parse.FieldNode)
	return ok
}

func lineOf(text string, pos parse.Pos) int {
	if int(pos) > len(text) {
		pos = parse.Pos(len(text))
	}
	return 1 + strings.Count(text[:pos], "\n")
}
