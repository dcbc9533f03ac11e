package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
)

// ErrTypeBadInput marks a journey input that can never run.
const ErrTypeBadInput = "BadJourneyInput"

// a is only used for its method names: workflows call activities through it.
var a *activities.Activities

// deliverRetry bounds a send: a few quick retries for transient provider or
// database trouble, then the touch is recorded as failed. Bad input (a
// template that cannot render, an unknown customer) is never retried.
var deliverRetry = &temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    time.Minute,
	MaximumAttempts:    8,
	NonRetryableErrorTypes: []string{
		activities.ErrTypeTemplate, activities.ErrTypeCustomerNotFound, activities.ErrTypeNoSender,
	},
}

// Journey runs one journey for one customer: each step in order, every send
// decided and recorded through the ledger.
func Journey(ctx workflow.Context, in JourneyInput) (JourneyResult, error) {
	j, err := newJourneyRun(ctx, in)
	if err != nil {
		return JourneyResult{}, err
	}
	return j.run(ctx)
}

// journeyRun is the private state of one journey execution.
type journeyRun struct {
	in      JourneyInput
	entryID string
	logger  log.Logger
	state   JourneyState
	// visits counts how often each step ran in this entry; it makes the
	// ledger key unique when a step is visited more than once.
	visits map[string]int
}

func newJourneyRun(ctx workflow.Context, in JourneyInput) (*journeyRun, error) {
	if in.CustomerID == "" {
		return nil, temporal.NewNonRetryableApplicationError("journey input has no customer id", ErrTypeBadInput, nil)
	}
	if err := in.Journey.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadInput, nil)
	}
	info := workflow.GetInfo(ctx)
	j := &journeyRun{
		in:      in,
		entryID: info.FirstRunID,
		logger: log.With(workflow.GetLogger(ctx),
			"journey", in.Journey.Name, "journey_version", in.Journey.Version, "customer_id", in.CustomerID),
		state: JourneyState{
			Journey: in.Journey.Name, Version: in.Journey.Version, CustomerID: in.CustomerID,
			Steps: []StepOutcome{},
		},
		visits: map[string]int{},
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (JourneyState, error) {
		return j.state, nil
	}); err != nil {
		return nil, err
	}
	return j, nil
}

func (j *journeyRun) run(ctx workflow.Context) (JourneyResult, error) {
	for _, step := range j.in.Journey.Steps {
		j.state.CurrentStep = step.ID
		j.visits[step.ID]++
		var (
			out StepOutcome
			err error
		)
		switch step.Kind {
		case journey.StepSend:
			out, err = j.send(ctx, step)
		case journey.StepWait:
			out, err = j.wait(ctx, step)
		default:
			// Validate rejects unknown kinds; this guards a future kind
			// reaching an old worker.
			err = temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("step %s: unknown kind %q", step.ID, step.Kind), ErrTypeBadInput, nil)
		}
		if err != nil {
			return JourneyResult{Steps: j.state.Steps}, err
		}
		j.state.Steps = append(j.state.Steps, out)
	}
	j.state.CurrentStep = ""
	j.state.Done = true
	j.logger.Info("journey finished", "steps", len(j.state.Steps))
	return JourneyResult{Steps: j.state.Steps}, nil
}

func (j *journeyRun) wait(ctx workflow.Context, step journey.Step) (StepOutcome, error) {
	if err := workflow.Sleep(ctx, step.Wait); err != nil {
		return StepOutcome{}, err
	}
	return StepOutcome{StepID: step.ID, Kind: string(step.Kind)}, nil
}

func (j *journeyRun) send(ctx workflow.Context, step journey.Step) (StepOutcome, error) {
	if calltask.Route(step.Channel, step.Intent, j.in.CallPolicy) == calltask.Human {
		return j.callInstead(ctx, step)
	}
	info := workflow.GetInfo(ctx)
	key := ledger.Key{
		WorkflowID: info.WorkflowExecution.ID,
		EntryID:    j.entryID,
		StepKey:    fmt.Sprintf("%s#%d", step.ID, j.visits[step.ID]),
	}
	in := activities.DeliverInput{
		Planned: ledger.Planned{
			Key: key, Journey: j.in.Journey.Name, JourneyVersion: j.in.Journey.Version,
			CustomerID: j.in.CustomerID, StepID: step.ID, Channel: step.Channel, Intent: step.Intent,
		},
		Template: j.in.Journey.Templates[step.Template],
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           DeliveryQueue(step.Channel),
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         deliverRetry,
	})
	out := StepOutcome{StepID: step.ID, Kind: string(step.Kind), Channel: step.Channel}
	var res activities.DeliverResult
	err := workflow.ExecuteActivity(actx, a.Deliver, in).Get(ctx, &res)
	if err == nil {
		out.Status, out.Reason, out.TouchID = res.Status, res.Reason, res.TouchID
		j.logger.Info("touch settled", "step", step.ID, "status", res.Status, "reason", res.Reason)
		return out, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeCustomerNotFound {
		return out, err
	}
	// The send failed for good (bad template, or attempts exhausted): make
	// sure the ledger says so, and go on with the journey.
	reason := "send.failed"
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeTemplate {
		reason = "template.render"
	}
	fctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 30 * time.Second},
	})
	if ferr := workflow.ExecuteActivity(fctx, a.FailTouch, activities.FailTouchInput{Key: key, Reason: reason}).Get(ctx, nil); ferr != nil {
		return out, ferr
	}
	j.logger.Warn("touch failed", "step", step.ID, "reason", reason, "error", err)
	out.Status, out.Reason = ledger.Failed, reason
	return out, nil
}
