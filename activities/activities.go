// Package activities holds every piece of I/O a journey does: loading
// customers, deciding and recording touches in the ledger, and delivering
// messages through a channel's sender. Dependencies are injected once by the
// worker through the Activities struct.
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/policy"
	"github.com/outreach-engine/outreach/internal/throttle"
)

// Error types the workflow and the retry policies recognise. Both are
// properties of the input, so retrying never helps.
const (
	ErrTypeTemplate         = "TemplateRenderError"
	ErrTypeCustomerNotFound = "CustomerNotFound"
	ErrTypeNoSender         = "NoSenderForChannel"
)

// Activities carries the dependencies of every activity.
type Activities struct {
	DB      *pgxpool.Pool
	Senders map[channel.Name]channel.Sender
	// Throttle is the global throttle policy; nil sends without throttling
	// (the worker always sets it).
	Throttle *throttle.Policy
	// Now is the clock of throttle decisions; nil means time.Now.
	Now func() time.Time
	// Metrics counts settled touches; nil counts nothing.
	Metrics Metrics
	// Links adds the customer's signed links to a message (nil: none).
	Links Linker
}

// DeliverInput names one touch. It carries ids and the template, never the
// customer's data: the activity loads that from Postgres.
type DeliverInput struct {
	ledger.Planned
	Template journey.Template `json:"template"`
	// RequestedAt is the journey's clock when it asked (recorded with the
	// throttle decision); MaxDefer is how long the step may wait (0: the
	// policy's default for the intent).
	RequestedAt time.Time     `json:"requested_at"`
	MaxDefer    time.Duration `json:"max_defer,omitempty"`
}

// DeliverResult is what became of the touch.
type DeliverResult struct {
	TouchID int64         `json:"touch_id"`
	Status  ledger.Status `json:"status"`
	Reason  string        `json:"reason,omitempty"`
	// NotBefore is when a deferred touch may ask again; DecidedAt is the
	// decision's clock (the workflow sleeps NotBefore - DecidedAt).
	NotBefore time.Time `json:"not_before,omitzero"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

func result(t ledger.Touch) DeliverResult {
	return DeliverResult{TouchID: t.ID, Status: t.Status, Reason: t.Reason}
}

// Deliver decides, records and sends one touch. It is safe to run any number
// of times for the same touch: the ledger row is keyed by the step, a final
// row is returned as it is, and an ambiguous earlier attempt is settled by
// the sender's idempotency or reconciliation (send.go), so a worker that
// crashes after the provider accepted a message never causes a second one.
func (a *Activities) Deliver(ctx context.Context, in DeliverInput) (DeliverResult, error) {
	logger := activity.GetLogger(ctx)
	if calltask.Route(in.Channel, in.Intent, calltask.Policy{}) == calltask.Human {
		return DeliverResult{}, temporal.NewNonRetryableApplicationError(
			"step "+in.StepID+": a caring voice message is a call by a person, never text-to-speech", ErrTypeHumanOnly, nil)
	}
	t, err := ledger.Reserve(ctx, a.DB, in.Planned)
	if err != nil {
		return DeliverResult{}, err
	}
	if t.Status.Final() {
		logger.Info("touch already settled", "touch_id", t.ID, "status", t.Status)
		return result(t), nil
	}
	c, err := customer.Get(ctx, a.DB, in.CustomerID)
	if errors.Is(err, customer.ErrNotFound) {
		_ = ledger.MarkFailed(ctx, a.DB, t.ID, "customer.not_found")
		a.metrics().Touch(in.Channel, ledger.Failed, "customer.not_found")
		return DeliverResult{}, temporal.NewNonRetryableApplicationError(
			"customer "+in.CustomerID+" does not exist", ErrTypeCustomerNotFound, nil)
	}
	if err != nil {
		return DeliverResult{}, err
	}
	// The rules of respect decide once per touch; a retry reads the
	// recorded decision back, so the send goes out exactly as decided.
	dec, err := a.decide(ctx, t, c, in)
	if err != nil {
		return DeliverResult{}, err
	}
	if dec.Outcome == policy.Block {
		logger.Info("touch blocked", "touch_id", t.ID, "rule", dec.RuleID)
		a.metrics().Touch(in.Channel, ledger.Blocked, dec.RuleID)
		return DeliverResult{TouchID: t.ID, Status: ledger.Blocked, Reason: dec.RuleID}, nil
	}
	// From here on the touch goes out as decided: a changed touch on its
	// final channel.
	in.Channel = dec.Final.Channel
	t.Channel = in.Channel
	// A touch already in "sending" was cleared by the throttle in an earlier
	// attempt that then died; only the send is left to finish (or to
	// reconcile, see send.go).
	if t.Status == ledger.Reserved {
		// The customer's own choices (unsubscribes, how often at most)
		// come before the throttle's caps.
		rule, err := a.customerChoices(ctx, t)
		if err != nil {
			return DeliverResult{}, err
		}
		if rule != "" {
			if err := ledger.MarkBlocked(ctx, a.DB, t.ID, rule); err != nil {
				return DeliverResult{}, err
			}
			logger.Info("touch blocked", "touch_id", t.ID, "rule", rule)
			a.metrics().Touch(in.Channel, ledger.Blocked, rule)
			return DeliverResult{TouchID: t.ID, Status: ledger.Blocked, Reason: rule}, nil
		}
		if res, done, err := a.throttleTouch(ctx, t, c, in); done || err != nil {
			if err == nil {
				a.metrics().Touch(in.Channel, res.Status, res.Reason)
			}
			return res, err
		}
	}
	msg, err := journey.Render(in.Template, c.TemplateData())
	if err != nil {
		if mErr := ledger.MarkFailed(ctx, a.DB, t.ID, "template.render"); mErr != nil {
			return DeliverResult{}, mErr
		}
		a.metrics().Touch(in.Channel, ledger.Failed, "template.render")
		return DeliverResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("step %s: %v", in.StepID, err), ErrTypeTemplate, nil)
	}
	sender, ok := a.Senders[in.Channel]
	if !ok {
		return DeliverResult{}, temporal.NewNonRetryableApplicationError(
			"no sender configured for channel "+string(in.Channel), ErrTypeNoSender, nil)
	}
	out := message(t, c, in, msg)
	out.Format = mailFormat(dec)
	if a.Links != nil {
		out = a.Links.AddLinks(out)
	}
	res, err := a.send(ctx, t, sender, out)
	if err != nil {
		return DeliverResult{}, passThrough(err)
	}
	if res.Status == ledger.Sent {
		res.Reason = changedBy(dec)
	}
	a.metrics().Touch(in.Channel, res.Status, res.Reason)
	return res, nil
}

// FailTouchInput names a touch whose delivery failed for good.
type FailTouchInput struct {
	ledger.Key
	Reason string `json:"reason"`
}

// FailTouch records in the ledger that a touch failed for good, after the
// Deliver activity ran out of attempts. A touch already settled is left alone.
func (a *Activities) FailTouch(ctx context.Context, in FailTouchInput) error {
	var ch channel.Name
	err := a.DB.QueryRow(ctx, `
		update touches set status = 'failed', reason = $4, updated_at = now()
		where workflow_id = $1 and entry_id = $2 and step_key = $3 and status in ('reserved', 'sending')
		returning channel`,
		in.WorkflowID, in.EntryID, in.StepKey, in.Reason).Scan(&ch)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err == nil {
		a.metrics().Touch(ch, ledger.Failed, in.Reason)
	}
	return err
}
