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
	"github.com/outreach-engine/outreach/internal/channel"
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
	// Journeys started before the interpreter learned jumps, events and
	// continue-as-new keep running the linear loop they started with.
	// Their definitions passed the validation of their day when they started.
	if workflow.GetVersion(ctx, versionInterpreter, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return j.runLinear(ctx)
	}
	// Validate is a pure function of the input: the maps it reads are only
	// looked up, sorted, or encoded by encoding/json (which sorts keys).
	//workflowcheck:ignore
	if err := in.Journey.Validate(); err != nil {
		return JourneyResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadInput, nil)
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
	// results holds what each step last did, for branches on outcome_of.
	results map[string]string
	// events are the customer events received since the last send.
	events []Event
	// exitEvent is the exit_on event that ended the journey, if any.
	exitEvent EventKind
	// variant is the variant the latest split assigned; every later touch
	// carries it into the ledger, where reports compare variants.
	variant string
}

func newJourneyRun(ctx workflow.Context, in JourneyInput) (*journeyRun, error) {
	if in.CustomerID == "" {
		return nil, temporal.NewNonRetryableApplicationError("journey input has no customer id", ErrTypeBadInput, nil)
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
		visits:  map[string]int{},
		results: map[string]string{},
	}
	if r := in.Resume; r != nil {
		j.state.Steps, j.state.StepsTotal, j.events = r.Steps, r.StepsTotal, r.Events
		if j.state.Steps == nil {
			j.state.Steps = []StepOutcome{}
		}
		if r.Visits != nil {
			j.visits = r.Visits
		}
		if r.Results != nil {
			j.results = r.Results
		}
		j.variant = r.Variant
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (JourneyState, error) {
		return j.state, nil
	}); err != nil {
		return nil, err
	}
	return j, nil
}

// runLinear is the foundation's interpreter: every step in file order. It
// only runs for histories recorded before versionInterpreter.
func (j *journeyRun) runLinear(ctx workflow.Context) (JourneyResult, error) {
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
		StepKey:    j.stepKey(step),
	}
	in := activities.DeliverInput{
		Planned: ledger.Planned{
			Key: key, Journey: j.in.Journey.Name, JourneyVersion: j.in.Journey.Version,
			CustomerID: j.in.CustomerID, StepID: step.ID, Channel: step.Channel, Intent: step.Intent,
			Variant: j.variant,
		},
		Template: j.in.Journey.Templates[step.Template],
		MaxDefer: step.MaxDefer,
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           DeliveryQueue(step.Channel),
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         deliverRetry,
	})
	out := StepOutcome{StepID: step.ID, Kind: string(step.Kind), Channel: step.Channel}
	var (
		res activities.DeliverResult
		err error
	)
	// The throttle may defer the touch: wait durably until the moment it
	// named and ask again. The step's deadline bounds the waiting; past it
	// the activity answers expired.
	for {
		in.RequestedAt, res = workflow.Now(ctx), activities.DeliverResult{}
		err = workflow.ExecuteActivity(actx, a.Deliver, in).Get(ctx, &res)
		if err != nil || res.Status != ledger.Deferred {
			break
		}
		wait := max(res.NotBefore.Sub(res.DecidedAt), time.Second)
		j.logger.Info("touch deferred", "step", step.ID, "rule", res.Reason, "not_before", res.NotBefore, "wait", wait)
		if err := workflow.Sleep(ctx, wait); err != nil {
			return out, err
		}
	}
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
	if errors.As(err, &appErr) && appErr.Type() == channel.ErrTypeProviderRejected && appErr.HasDetails() {
		_ = appErr.Details(&reason) // the provider's reason, as in the ledger
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
