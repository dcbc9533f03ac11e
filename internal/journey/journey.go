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
	"time"

	"github.com/outreach-engine/outreach/internal/channel"
)

// StepKind says what a step does.
type StepKind string

const (
	// StepSend sends one message on a channel.
	StepSend StepKind = "send"
	// StepWait waits for a duration.
	StepWait StepKind = "wait"
)

// Definition is a named, versioned journey.
type Definition struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Steps   []Step `json:"steps"`
	// Templates are looked up by name from send steps.
	Templates map[string]Template `json:"templates,omitempty"`
}

// Step is one step of a journey. Which fields matter depends on Kind.
type Step struct {
	// ID names the step; it is unique within the journey and stable across
	// versions, because the ledger's idempotency key is built from it.
	ID   string   `json:"id"`
	Kind StepKind `json:"kind"`

	// Send fields.
	Channel  channel.Name   `json:"channel,omitempty"`
	Intent   channel.Intent `json:"intent,omitempty"`
	Template string         `json:"template,omitempty"`

	// Wait fields.
	Wait time.Duration `json:"wait,omitempty"`

	// Human-call fields of a send step that goes to a person (see
	// internal/calltask): why the agent calls, how long the task stays open,
	// and the template of the personal email sent when no one called in time.
	CallReason   string        `json:"call_reason,omitempty"`
	CallDeadline time.Duration `json:"call_deadline,omitempty"`
	Fallback     string        `json:"fallback,omitempty"`
}

// Template is a message template in Go text/template syntax over Data.
type Template struct {
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body"`
}

// Validate checks that the definition can run: names, step kinds, channels,
// intents, durations and templates. It returns every problem joined, each
// naming the step it concerns.
func (d Definition) Validate() error {
	var errs []error
	if strings.TrimSpace(d.Name) == "" {
		errs = append(errs, errors.New("journey: name is empty"))
	}
	if d.Version < 1 {
		errs = append(errs, fmt.Errorf("journey %s: version must be 1 or more, got %d", d.Name, d.Version))
	}
	if len(d.Steps) == 0 {
		errs = append(errs, fmt.Errorf("journey %s: has no steps", d.Name))
	}
	seen := make(map[string]bool, len(d.Steps))
	for i, s := range d.Steps {
		where := fmt.Sprintf("journey %s: step %d (%s)", d.Name, i+1, s.ID)
		if s.ID == "" {
			errs = append(errs, fmt.Errorf("journey %s: step %d: id is empty", d.Name, i+1))
		} else if seen[s.ID] {
			errs = append(errs, fmt.Errorf("%s: duplicate step id", where))
		}
		seen[s.ID] = true
		switch s.Kind {
		case StepSend:
			if !s.Channel.Valid() {
				errs = append(errs, fmt.Errorf("%s: unknown channel %q", where, s.Channel))
			}
			if !s.Intent.Valid() {
				errs = append(errs, fmt.Errorf("%s: unknown intent %q", where, s.Intent))
			}
			t, ok := d.Templates[s.Template]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: template %q is not defined", where, s.Template))
				continue
			}
			if _, err := Render(t, SampleData()); err != nil {
				errs = append(errs, fmt.Errorf("%s: template %q: %w", where, s.Template, err))
			}
			if _, ok := d.Templates[s.Fallback]; s.Fallback != "" && !ok {
				errs = append(errs, fmt.Errorf("%s: fallback template %q is not defined", where, s.Fallback))
			}
		case StepWait:
			if s.Wait <= 0 {
				errs = append(errs, fmt.Errorf("%s: wait must be a positive duration, got %s", where, s.Wait))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: unknown step kind %q", where, s.Kind))
		}
	}
	return errors.Join(errs...)
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
	var b strings.Builder
	if err := tpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrRender, name, err)
	}
	return b.String(), nil
}
