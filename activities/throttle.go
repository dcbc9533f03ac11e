package activities

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/throttle"
)

// passThrough returns a sender's ApplicationError (a provider's rate limit
// among them, see channel.ProviderError) unwrapped, so its type and retry delay reach Temporal; other errors come
// back as they are.
func passThrough(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr
	}
	return err
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// throttleTouch asks the throttle about a touch that passed the guard. It
// returns done=true with the result to give the workflow when the touch must
// wait or has expired; done=false means the touch is reserved and may go out.
func (a *Activities) throttleTouch(ctx context.Context, t ledger.Touch, c customer.Customer, in DeliverInput) (DeliverResult, bool, error) {
	if a.Throttle == nil {
		return DeliverResult{}, false, nil
	}
	check := throttle.Check{
		TouchID: t.ID, CustomerID: c.ID, TimeZone: c.TimeZone, Channel: in.Channel, Intent: in.Intent,
		At: a.now(), RequestedAt: in.RequestedAt, MaxDefer: in.MaxDefer,
	}
	var res throttle.Result
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		var err error
		res, err = throttle.CheckAndReserve(ctx, tx, a.Throttle, check)
		return err
	})
	if err != nil {
		return DeliverResult{}, true, err
	}
	out := DeliverResult{TouchID: t.ID, Reason: res.Rule, DecidedAt: res.DecidedAt}
	switch res.Outcome {
	case throttle.Deferred:
		out.Status, out.NotBefore = ledger.Deferred, res.NotBefore
	case throttle.Expired:
		out.Status = ledger.Expired
	default:
		return DeliverResult{}, false, nil
	}
	activity.GetLogger(ctx).Info("touch throttled", "touch_id", t.ID, "status", out.Status,
		"rule", res.Rule, "not_before", res.NotBefore)
	return out, true, nil
}
