// Package workflows holds the deterministic orchestration of customer
// journeys. This file is the one place for the domain's names: task queues,
// workflow IDs, query names and the input and result types.
package workflows

import (
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
)

// TaskQueue is where journey workflows run.
const TaskQueue = "outreach-journeys"

// DeliveryQueue is the task queue of one channel's Deliver activities. Each
// channel gets its own so that provider rate limits can be set per queue and
// hold across every worker.
func DeliveryQueue(ch channel.Name) string { return "outreach-deliver-" + string(ch) }

// WorkflowID is the deterministic ID of a customer's journey: one running
// journey of a given name per customer.
func WorkflowID(journeyName, customerID string) string {
	return "journey:" + journeyName + ":" + customerID
}

// ParseWorkflowID splits a journey workflow ID into journey name and customer id.
func ParseWorkflowID(id string) (journeyName, customerID string, ok bool) {
	rest, ok := strings.CutPrefix(id, "journey:")
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

// QueryState is the query that returns a JourneyState.
const QueryState = "state"

// JourneyInput starts one journey for one customer. It carries the whole
// definition, so a running journey keeps the version it started with. It
// carries the customer's id only: names, addresses and bodies stay in Postgres.
type JourneyInput struct {
	CustomerID string             `json:"customer_id"`
	Journey    journey.Definition `json:"journey"`
	// MaxWait, when set, caps every wait, wait_for timeout and local-time
	// wait (demos compress days into seconds with it).
	MaxWait time.Duration `json:"max_wait,omitempty"`
	// Resume carries a journey's state across continue-as-new.
	Resume *Resume `json:"resume,omitempty"`
	// CallPolicy lists the channel/intent pairs that go to a person besides
	// caring voice messages (which always do).
	CallPolicy calltask.Policy `json:"call_policy,omitempty"`
}

// Resume is the state a journey carries into its next run when it continues
// as new: where it is, how often each step ran (the ledger's step keys
// depend on it), what each step last did, and the events not yet consumed.
type Resume struct {
	Step       string            `json:"step"`
	Visits     map[string]int    `json:"visits"`
	Results    map[string]string `json:"results,omitempty"`
	Steps      []StepOutcome     `json:"steps,omitempty"`
	StepsTotal int               `json:"steps_total"`
	Events     []Event           `json:"events,omitempty"`
	Variant    string            `json:"variant,omitempty"`
}

// StepOutcome is what one step of a journey did.
type StepOutcome struct {
	StepID  string        `json:"step_id"`
	Kind    string        `json:"kind"`
	Channel channel.Name  `json:"channel,omitempty"`
	Status  ledger.Status `json:"status,omitempty"`
	Reason  string        `json:"reason,omitempty"`
	TouchID int64         `json:"touch_id,omitempty"`
	// Intent of a send or human call.
	Intent channel.Intent `json:"intent,omitempty"`
	// Visit counts how often the step ran, this time included.
	Visit int `json:"visit,omitempty"`
	// Result is what a branch-like step decided: the event that arrived or
	// "timeout", the branch case taken, the variant, "pending" for a human
	// call; for a send it is the status. Branches on outcome_of compare it.
	Result string `json:"result,omitempty"`
	// Variant is the variant a split assigned.
	Variant string `json:"variant,omitempty"`
	// Next is the step the journey went on to ("" when it ended).
	Next string `json:"next,omitempty"`
}

// JourneyState is what the state query returns.
type JourneyState struct {
	Journey     string `json:"journey"`
	Version     int    `json:"version"`
	CustomerID  string `json:"customer_id"`
	CurrentStep string `json:"current_step"`
	// Waiting says what the current step waits for, e.g. "for opened,
	// clicked until 2026-11-25T10:00:00Z" or "until 2026-11-25T10:00:00Z".
	Waiting string `json:"waiting,omitempty"`
	Done    bool   `json:"done"`
	// ExitReason says why the journey ended early, e.g. "event.purchased".
	ExitReason string `json:"exit_reason,omitempty"`
	// Steps is the most recent outcomes (at most MaxSummarySteps);
	// StepsTotal counts every step run since the journey began.
	Steps      []StepOutcome `json:"steps"`
	StepsTotal int           `json:"steps_total,omitempty"`
}

// MaxSummarySteps bounds the outcomes a journey keeps in its state, so that
// a long journey's query result and continue-as-new input stay small.
const MaxSummarySteps = 100

// JourneyResult is what a finished journey returns.
type JourneyResult struct {
	Steps []StepOutcome `json:"steps"`
}

// Sent counts the touches that were sent.
func (r JourneyResult) Count(s ledger.Status) int {
	n := 0
	for _, o := range r.Steps {
		if o.Status == s {
			n++
		}
	}
	return n
}

// SignalEvent delivers a customer event (from webhooks, the call desk or the
// preference center) to a running journey. The journey-definition work
// handles it (wait_for, exit events); senders only need the name and type.
const SignalEvent = "event"

// EventKind is what happened.
type EventKind string

const (
	EventDelivered     EventKind = "delivered"
	EventOpened        EventKind = "opened"
	EventClicked       EventKind = "clicked"
	EventReplied       EventKind = "replied"
	EventPurchased     EventKind = "purchased"
	EventCallCompleted EventKind = "call_completed"
	EventUnsubscribed  EventKind = "unsubscribed"
	EventBounced       EventKind = "bounced"
)

// Valid reports whether k is a known event kind.
func (k EventKind) Valid() bool {
	switch k {
	case EventDelivered, EventOpened, EventClicked, EventReplied, EventPurchased,
		EventCallCompleted, EventUnsubscribed, EventBounced:
		return true
	}
	return false
}

// Event is the payload of SignalEvent. It carries ids and kinds, no PII.
type Event struct {
	Kind    EventKind    `json:"kind"`
	TouchID int64        `json:"touch_id,omitempty"`
	Channel channel.Name `json:"channel,omitempty"`
	// Detail is a short non-personal qualifier, e.g. a call outcome.
	Detail string `json:"detail,omitempty"`
}
