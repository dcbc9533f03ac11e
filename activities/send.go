package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
)

// ReasonAmbiguous is the ledger reason of a touch whose earlier attempt may
// or may not have reached a provider that cannot be asked, and whose intent
// prefers a missed message to a duplicate.
const ReasonAmbiguous = "ambiguous.at_most_once"

// message builds the provider's view of a touch.
func message(t ledger.Touch, c customer.Customer, in DeliverInput, r journey.Rendered) channel.Message {
	m := channel.Message{
		TouchID: t.ID, CustomerID: c.ID, Channel: in.Channel, Intent: in.Intent,
		To: c.AddressOn(in.Channel), Subject: r.Subject, Body: r.Body, WorkflowID: in.WorkflowID,
		ReservedAt: t.CreatedAt,
	}
	if in.Channel == channel.Mail && c.Address != nil {
		a := c.Address
		m.Postal = &channel.PostalAddress{Name: c.Name, Line1: a.Line1, Line2: a.Line2, City: a.City,
			Region: a.Region, PostalCode: a.PostalCode, Country: a.Country}
	}
	return m
}

// send hands a decided touch to its sender exactly once.
//
// A touch found in "sending" was handed over by an earlier attempt that then
// lost the answer. If the sender can look the message up, its answer
// settles the touch; if it cannot, transactional messages are sent again (a
// duplicate receipt beats a missing one) and every other intent is recorded
// as failed rather than risk a second copy. Senders without a Reconciler are
// idempotent by touch id and simply send again.
func (a *Activities) send(ctx context.Context, t ledger.Touch, sender channel.Sender, msg channel.Message) (DeliverResult, error) {
	logger := activity.GetLogger(ctx)
	if t.Status == ledger.Sending {
		if res, settled, err := a.reconcile(ctx, t, sender, msg); settled || err != nil {
			return res, err
		}
	} else if err := ledger.MarkSending(ctx, a.DB, t.ID); err != nil {
		return DeliverResult{}, err
	}
	receipt, err := sender.Send(ctx, msg)
	if err != nil {
		return DeliverResult{}, a.sendFailed(ctx, t, err)
	}
	if err := ledger.MarkSent(ctx, a.DB, t.ID, receipt.ProviderID); err != nil {
		return DeliverResult{}, err
	}
	logger.Info("touch sent", "touch_id", t.ID, "channel", msg.Channel)
	return DeliverResult{TouchID: t.ID, Status: ledger.Sent}, nil
}

func (a *Activities) reconcile(ctx context.Context, t ledger.Touch, sender channel.Sender, msg channel.Message) (DeliverResult, bool, error) {
	logger := activity.GetLogger(ctx)
	rc, ok := sender.(channel.Reconciler)
	if !ok {
		return DeliverResult{}, false, nil
	}
	receipt, found, err := rc.Lookup(ctx, msg, t.CreatedAt)
	switch {
	case err == nil && found:
		if err := ledger.MarkSent(ctx, a.DB, t.ID, receipt.ProviderID); err != nil {
			return DeliverResult{}, true, err
		}
		logger.Info("touch reconciled: the earlier attempt was sent", "touch_id", t.ID, "channel", msg.Channel)
		return DeliverResult{TouchID: t.ID, Status: ledger.Sent}, true, nil
	case err == nil:
		logger.Info("touch reconciled: the earlier attempt never arrived, sending", "touch_id", t.ID)
		return DeliverResult{}, false, nil
	case errors.Is(err, channel.ErrLookupUnsupported):
		if msg.Intent == channel.Transactional {
			logger.Warn("earlier attempt unknown; resending transactional touch", "touch_id", t.ID, "channel", msg.Channel)
			return DeliverResult{}, false, nil
		}
		if err := ledger.MarkFailed(ctx, a.DB, t.ID, ReasonAmbiguous); err != nil {
			return DeliverResult{}, true, err
		}
		logger.Warn("earlier attempt unknown; not resending", "touch_id", t.ID, "channel", msg.Channel, "intent", msg.Intent)
		return DeliverResult{TouchID: t.ID, Status: ledger.Failed, Reason: ReasonAmbiguous}, true, nil
	}
	if pe, ok := channel.AsProviderError(err); ok && pe.Kind == channel.RateLimited {
		return DeliverResult{}, true, pe.Temporal()
	}
	return DeliverResult{}, true, fmt.Errorf("look up touch %d: %w", t.ID, err)
}

// sendFailed records what a failed send means. A definite rejection fails
// the touch for good; a rate limit or server error means the provider did not
// take the message, so the touch goes back to reserved for a clean retry;
// anything else (a timeout, a dropped connection) leaves it in sending, to be
// reconciled by the next attempt.
func (a *Activities) sendFailed(ctx context.Context, t ledger.Touch, err error) error {
	pe, ok := channel.AsProviderError(err)
	if !ok {
		return fmt.Errorf("send touch %d: outcome unknown: %w", t.ID, err)
	}
	if pe.Kind == channel.Rejected {
		if mErr := ledger.MarkFailed(ctx, a.DB, t.ID, pe.Reason); mErr != nil {
			return mErr
		}
		activity.GetLogger(ctx).Warn("provider rejected touch", "touch_id", t.ID, "reason", pe.Reason, "status", pe.Status)
		return pe.Temporal()
	}
	if rErr := ledger.Release(ctx, a.DB, t.ID); rErr != nil {
		return rErr
	}
	return pe.Temporal()
}
