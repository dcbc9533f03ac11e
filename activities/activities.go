// Package activities holds every piece of I/O a journey does: loading
// customers, deciding and recording touches in the ledger, and delivering
// messages through a channel's sender. Dependencies are injected once by the
// worker through the Activities struct.
package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
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
}

// DeliverInput names one touch. It carries ids and the template, never the
// customer's data: the activity loads that from Postgres.
type DeliverInput struct {
	ledger.Planned
	Template journey.Template `json:"template"`
}

// DeliverResult is what became of the touch.
type DeliverResult struct {
	TouchID int64         `json:"touch_id"`
	Status  ledger.Status `json:"status"`
	Reason  string        `json:"reason,omitempty"`
}

func result(t ledger.Touch) DeliverResult {
	return DeliverResult{TouchID: t.ID, Status: t.Status, Reason: t.Reason}
}

// Deliver decides, records and sends one touch. It is safe to run any number
// of times for the same touch: the ledger row is keyed by the step, a final
// row is returned as it is, and the sender is idempotent by touch id, so a
// worker that crashes after the provider accepted a message never causes a
// second one.
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
		return DeliverResult{}, temporal.NewNonRetryableApplicationError(
			"customer "+in.CustomerID+" does not exist", ErrTypeCustomerNotFound, nil)
	}
	if err != nil {
		return DeliverResult{}, err
	}
	// A touch already in "sending" was decided by an earlier attempt that
	// then died; only the idempotent send is left to finish.
	if t.Status == ledger.Reserved {
		if rule := Guard(c, in.Channel); rule != "" {
			if err := ledger.MarkBlocked(ctx, a.DB, t.ID, rule); err != nil {
				return DeliverResult{}, err
			}
			logger.Info("touch blocked", "touch_id", t.ID, "rule", rule)
			return DeliverResult{TouchID: t.ID, Status: ledger.Blocked, Reason: rule}, nil
		}
	}
	msg, err := journey.Render(in.Template, c.TemplateData())
	if err != nil {
		if mErr := ledger.MarkFailed(ctx, a.DB, t.ID, "template.render"); mErr != nil {
			return DeliverResult{}, mErr
		}
		return DeliverResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("step %s: %v", in.StepID, err), ErrTypeTemplate, nil)
	}
	sender, ok := a.Senders[in.Channel]
	if !ok {
		return DeliverResult{}, temporal.NewNonRetryableApplicationError(
			"no sender configured for channel "+string(in.Channel), ErrTypeNoSender, nil)
	}
	if err := ledger.MarkSending(ctx, a.DB, t.ID); err != nil {
		return DeliverResult{}, err
	}
	receipt, err := sender.Send(ctx, channel.Message{
		TouchID: t.ID, CustomerID: c.ID, Channel: in.Channel, Intent: in.Intent,
		To: c.AddressOn(in.Channel), Subject: msg.Subject, Body: msg.Body,
	})
	if err != nil {
		return DeliverResult{}, fmt.Errorf("send touch %d on %s: %w", t.ID, in.Channel, err)
	}
	if err := ledger.MarkSent(ctx, a.DB, t.ID, receipt.ProviderID); err != nil {
		return DeliverResult{}, err
	}
	logger.Info("touch sent", "touch_id", t.ID, "channel", in.Channel)
	return DeliverResult{TouchID: t.ID, Status: ledger.Sent}, nil
}

// Guard applies the rules every touch must pass before it is sent and returns
// the id of the rule that blocks it, or "" when the touch may go out.
func Guard(c customer.Customer, ch channel.Name) string {
	switch {
	case c.AccountType != customer.AccountCustomer:
		return "account.not_customer"
	case !c.Consents[ch]:
		return "consent." + string(ch)
	case c.AddressOn(ch) == "":
		return "address." + string(ch) + ".missing"
	}
	return ""
}

// FailTouchInput names a touch whose delivery failed for good.
type FailTouchInput struct {
	ledger.Key
	Reason string `json:"reason"`
}

// FailTouch records in the ledger that a touch failed for good, after the
// Deliver activity ran out of attempts. A touch already settled is left alone.
func (a *Activities) FailTouch(ctx context.Context, in FailTouchInput) error {
	_, err := a.DB.Exec(ctx, `
		update touches set status = 'failed', reason = $4, updated_at = now()
		where workflow_id = $1 and entry_id = $2 and step_key = $3 and status in ('reserved', 'sending')`,
		in.WorkflowID, in.EntryID, in.StepKey, in.Reason)
	return err
}
