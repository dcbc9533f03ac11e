package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
)

// ErrTypeBadStep marks a step the activity cannot evaluate (e.g. a wait
// until a local time that does not parse); retrying never helps.
const ErrTypeBadStep = "BadJourneyStep"

func (a *Activities) loadCustomer(ctx context.Context, id string) (customer.Customer, error) {
	c, err := customer.Get(ctx, a.DB, id)
	if errors.Is(err, customer.ErrNotFound) {
		return c, temporal.NewNonRetryableApplicationError("customer "+id+" does not exist", ErrTypeCustomerNotFound, nil)
	}
	return c, err
}

// BranchInput asks which case of a branch on a customer attribute applies.
// It carries the customer id and the marketer's case values, never the
// customer's data.
type BranchInput struct {
	CustomerID string   `json:"customer_id"`
	Attribute  string   `json:"attribute"`
	Cases      []string `json:"cases"`
}

// BranchResult is the index of the case that applies, or -1 for the
// default. Only the choice enters the workflow history, not the value.
type BranchResult struct {
	Case int `json:"case"`
}

// EvaluateBranch loads the customer and returns the first case whose value
// equals the attribute: a field (city, country, time_zone, account_type), an
// entry of the customer's attributes (compared as text), or, for
// "interests", any stated interest. A customer without the attribute gets
// the default.
func (a *Activities) EvaluateBranch(ctx context.Context, in BranchInput) (BranchResult, error) {
	c, err := a.loadCustomer(ctx, in.CustomerID)
	if err != nil {
		return BranchResult{}, err
	}
	return BranchResult{Case: MatchCase(c, in.Attribute, in.Cases)}, nil
}

// MatchCase is EvaluateBranch's pure part.
func MatchCase(c customer.Customer, attribute string, cases []string) int {
	var values []string
	switch attribute {
	case "interests":
		values = c.Interests
	case "city", "country":
		if c.Address != nil {
			values = []string{map[string]string{"city": c.Address.City, "country": c.Address.Country}[attribute]}
		}
	case "time_zone":
		values = []string{c.TimeZone}
	case "account_type":
		values = []string{string(c.AccountType)}
	default:
		if v, ok := c.Attributes[attribute]; ok && v != nil {
			values = []string{fmt.Sprint(v)}
		}
	}
	for i, want := range cases {
		if slices.Contains(values, want) {
			return i
		}
	}
	return -1
}

// LocalTimeInput asks for the next moment matching a local time of the
// customer's day, after Now.
type LocalTimeInput struct {
	CustomerID string    `json:"customer_id"`
	Until      string    `json:"until"`
	Now        time.Time `json:"now"`
}

// NextLocalTime returns when a wait until a local time (e.g. "next weekday
// 10:00") ends for this customer, in the customer's own time zone.
func (a *Activities) NextLocalTime(ctx context.Context, in LocalTimeInput) (time.Time, error) {
	u, err := journey.ParseUntil(in.Until)
	if err != nil {
		return time.Time{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadStep, nil)
	}
	c, err := a.loadCustomer(ctx, in.CustomerID)
	if err != nil {
		return time.Time{}, err
	}
	return u.Next(in.Now, c.Location()).UTC(), nil
}

// HumanCallInput asks for a call by a person.
type HumanCallInput struct {
	ledger.Planned
	Reason   string        `json:"reason"`
	Deadline time.Duration `json:"deadline"`
}

// ReasonHumanCallPending is the ledger reason of a human call that no call
// desk has taken on: the journey goes on to its fallback.
const ReasonHumanCallPending = "human_call.pending"

// RecordHumanCall records in the ledger that the journey asked for a human
// call. Until a call desk takes such tasks on, the touch is recorded as
// blocked with the reason human_call.pending, so that the ledger and reports
// say a call was needed and not made; nothing is ever dialled automatically.
func (a *Activities) RecordHumanCall(ctx context.Context, in HumanCallInput) (DeliverResult, error) {
	t, err := ledger.Reserve(ctx, a.DB, in.Planned)
	if err != nil {
		return DeliverResult{}, err
	}
	if t.Status.Final() {
		return result(t), nil
	}
	if err := ledger.MarkBlocked(ctx, a.DB, t.ID, ReasonHumanCallPending); err != nil {
		return DeliverResult{}, err
	}
	activity.GetLogger(ctx).Info("human call needed", "touch_id", t.ID, "step", in.StepID)
	return DeliverResult{TouchID: t.ID, Status: ledger.Blocked, Reason: ReasonHumanCallPending}, nil
}
