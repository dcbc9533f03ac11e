// Package workflows holds the deterministic orchestration of customer
// journeys. This file is the one place for the domain's names: task queues,
// workflow IDs, query names and the input and result types.
package workflows

import (
	"strings"

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
	// CallPolicy lists the channel/intent pairs that go to a person besides
	// caring voice messages (which always do).
	CallPolicy calltask.Policy `json:"call_policy,omitempty"`
}

// StepOutcome is what one step of a journey did.
type StepOutcome struct {
	StepID  string        `json:"step_id"`
	Kind    string        `json:"kind"`
	Channel channel.Name  `json:"channel,omitempty"`
	Status  ledger.Status `json:"status,omitempty"`
	Reason  string        `json:"reason,omitempty"`
	TouchID int64         `json:"touch_id,omitempty"`
}

// JourneyState is what the state query returns.
type JourneyState struct {
	Journey     string        `json:"journey"`
	Version     int           `json:"version"`
	CustomerID  string        `json:"customer_id"`
	CurrentStep string        `json:"current_step"`
	Done        bool          `json:"done"`
	Steps       []StepOutcome `json:"steps"`
}

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

// Event is the payload of SignalEvent. It carries ids and kinds, no PII.
type Event struct {
	Kind    EventKind    `json:"kind"`
	TouchID int64        `json:"touch_id,omitempty"`
	Channel channel.Name `json:"channel,omitempty"`
	// Detail is a short non-personal qualifier, e.g. a call outcome.
	Detail string `json:"detail,omitempty"`
}
