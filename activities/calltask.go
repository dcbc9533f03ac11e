package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/ledger"
)

// Error types of the call-task activities; all are properties of the input.
const (
	// ErrTypeHumanOnly marks a message that only a person may deliver.
	ErrTypeHumanOnly = "HumanOnlyMessage"
	// ErrTypeCallTask marks a call-task request that contradicts Postgres.
	ErrTypeCallTask = "CallTaskMismatch"
)

// OpenCallTaskInput opens a call task.
type OpenCallTaskInput struct {
	calltask.NewTask
	Intent channel.Intent `json:"intent"`
}

// OpenCallTaskResult is the opened task, or the rule that forbids the call.
type OpenCallTaskResult struct {
	TaskID int64 `json:"task_id,omitempty"`
	// Blocked names the rule that forbids calling the customer; no task is
	// opened and the ledger records the blocked touch.
	Blocked string `json:"blocked,omitempty"`
	TouchID int64  `json:"touch_id,omitempty"`
}

// OpenCallTask creates the task the desk shows, or returns the one an earlier
// attempt created. A call is a voice touch, so the rules every voice touch
// passes come first: a customer who withdrew voice consent (for example by
// asking an agent not to be called), has no usable number, or is not a
// customer gets no call, and the ledger says why.
func (a *Activities) OpenCallTask(ctx context.Context, in OpenCallTaskInput) (OpenCallTaskResult, error) {
	logger := activity.GetLogger(ctx)
	if t, err := calltask.Find(ctx, a.DB, in.JourneyWorkflowID, in.EntryID, in.StepKey); err == nil {
		return OpenCallTaskResult{TaskID: t.ID}, nil
	} else if !errors.Is(err, calltask.ErrNotFound) {
		return OpenCallTaskResult{}, err
	}
	c, err := customer.Get(ctx, a.DB, in.CustomerID)
	if errors.Is(err, customer.ErrNotFound) {
		return OpenCallTaskResult{}, temporal.NewNonRetryableApplicationError(
			"customer "+in.CustomerID+" does not exist", ErrTypeCustomerNotFound, nil)
	}
	if err != nil {
		return OpenCallTaskResult{}, err
	}
	if rule := callGuard(c); rule != "" {
		touch, err := ledger.Reserve(ctx, a.DB, callTouch(in.NewTask, in.Intent))
		if err != nil {
			return OpenCallTaskResult{}, err
		}
		if touch.Status == ledger.Reserved {
			if err := ledger.MarkBlocked(ctx, a.DB, touch.ID, rule); err != nil {
				return OpenCallTaskResult{}, err
			}
			touch.Reason = rule
		}
		logger.Info("call blocked", "touch_id", touch.ID, "rule", touch.Reason)
		return OpenCallTaskResult{Blocked: touch.Reason, TouchID: touch.ID}, nil
	}
	t, err := calltask.Open(ctx, a.DB, in.NewTask)
	if err != nil {
		return OpenCallTaskResult{}, err
	}
	logger.Info("call task open", "task_id", t.ID, "status", t.Status)
	return OpenCallTaskResult{TaskID: t.ID}, nil
}

// callTouch is the ledger entry of a call: a voice touch at the journey step.
func callTouch(t calltask.NewTask, intent channel.Intent) ledger.Planned {
	return ledger.Planned{
		Key:     ledger.Key{WorkflowID: t.JourneyWorkflowID, EntryID: t.EntryID, StepKey: t.StepKey},
		Journey: t.Journey, JourneyVersion: t.JourneyVersion, CustomerID: t.CustomerID,
		StepID: t.StepID, Channel: channel.Voice, Intent: intent,
	}
}

// ApplyCallOutcomeInput names a completed task and the outcome the workflow
// was told.
type ApplyCallOutcomeInput struct {
	TaskID  int64            `json:"task_id"`
	Outcome calltask.Outcome `json:"outcome"`
	Intent  channel.Intent   `json:"intent"`
}

// ApplyCallOutcome makes a completed call count: the call is a touch in the
// ledger (so the global caps see it), a customer who asked not to be called
// loses voice consent at once, and a wrong number is flagged so no one dials
// it again. It runs in one transaction and is safe to repeat.
func (a *Activities) ApplyCallOutcome(ctx context.Context, in ApplyCallOutcomeInput) (int64, error) {
	var touchID int64
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		t, err := calltask.Get(ctx, tx, in.TaskID)
		if err != nil {
			return err
		}
		if t.Status != calltask.StatusCompleted || t.Outcome != in.Outcome {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"call task %d is %s with outcome %q in Postgres, not completed with %q",
				t.ID, t.Status, t.Outcome, in.Outcome), ErrTypeCallTask, nil)
		}
		switch in.Outcome {
		case calltask.DoNotCall:
			if _, err := tx.Exec(ctx, `
				insert into consents (customer_id, channel, granted, source) values ($1, 'voice', false, 'call_desk')
				on conflict (customer_id, channel) do update set granted = false, source = 'call_desk', updated_at = now()`,
				t.CustomerID); err != nil {
				return fmt.Errorf("withdraw voice consent: %w", err)
			}
		case calltask.WrongNumber:
			if _, err := tx.Exec(ctx, `update customers set phone_invalid = true, updated_at = now() where id = $1`,
				t.CustomerID); err != nil {
				return fmt.Errorf("flag phone: %w", err)
			}
		}
		touch, err := ledger.Reserve(ctx, tx, callTouch(calltask.NewTask{
			JourneyWorkflowID: t.JourneyWorkflowID, EntryID: t.EntryID, StepKey: t.StepKey,
			Journey: t.Journey, JourneyVersion: t.JourneyVersion, CustomerID: t.CustomerID, StepID: t.StepID,
		}, in.Intent))
		if err != nil {
			return err
		}
		touchID = touch.ID
		if touch.Status.Final() {
			return nil
		}
		if err := ledger.MarkSent(ctx, tx, touch.ID, "call-task-"+strconv.FormatInt(t.ID, 10)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `update touches set reason = $2, sent_at = $3 where id = $1`,
			touch.ID, "call."+string(in.Outcome), t.CompletedAt)
		return err
	})
	if err != nil {
		return 0, err
	}
	activity.GetLogger(ctx).Info("call outcome applied", "task_id", in.TaskID, "outcome", in.Outcome, "touch_id", touchID)
	return touchID, nil
}

// ExpireCallTaskResult is the task's final state after its deadline.
type ExpireCallTaskResult struct {
	// Outcome is calltask.Expired, or the agent's outcome when the task was
	// completed in Postgres before the deadline was handled.
	Outcome     calltask.Outcome `json:"outcome"`
	CompletedAt *time.Time       `json:"completed_at,omitempty"`
}

// ExpireCallTask closes a task whose deadline passed, unless an agent
// completed it first; then it reports the agent's outcome.
func (a *Activities) ExpireCallTask(ctx context.Context, taskID int64) (ExpireCallTaskResult, error) {
	t, err := calltask.Expire(ctx, a.DB, taskID)
	if err != nil {
		return ExpireCallTaskResult{}, err
	}
	if t.Status == calltask.StatusCompleted {
		return ExpireCallTaskResult{Outcome: t.Outcome, CompletedAt: t.CompletedAt}, nil
	}
	activity.GetLogger(ctx).Info("call task expired", "task_id", taskID)
	return ExpireCallTaskResult{Outcome: calltask.Expired}, nil
}

// callGuard is what must hold before a person may call: a real customer,
// voice consent, and a phone number that is not known to be wrong. It names
// the blocking rule with the ids the rules of respect use.
func callGuard(c customer.Customer) string {
	switch {
	case c.AccountType != customer.AccountCustomer:
		return "account.not_customer"
	case !c.Consents[channel.Voice]:
		return "consent.voice"
	case c.AddressOn(channel.Voice) == "":
		return "address.voice.missing"
	}
	return ""
}
