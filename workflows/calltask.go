package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/calltask"
)

// callTaskActivity bounds the call-task activities: short database work,
// retried until Postgres answers; bad input is never retried.
var callTaskActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 15 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
		NonRetryableErrorTypes: []string{
			activities.ErrTypeCustomerNotFound, activities.ErrTypeCallTask,
		},
	},
}

// RunCallTask runs the CallTask child workflow for one journey step and
// returns what the agent heard, or calltask.Expired when no one completed the
// task in time. The child's ID is derived from the journey and the step, and
// a cancelled journey cancels its open task.
func RunCallTask(ctx workflow.Context, in CallTaskInput) (CallTaskResult, error) {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        CallTaskWorkflowID(in.JourneyWorkflowID, in.StepKey),
		TaskQueue:         TaskQueue,
		ParentClosePolicy: enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
	})
	var res CallTaskResult
	err := workflow.ExecuteChildWorkflow(cctx, CallTaskWorkflowName, in).Get(ctx, &res)
	return res, err
}

// CallTask opens a call task for an agent and waits for its outcome: an
// UpdateCallOutcome from the call desk, raced against the task's deadline.
// A customer who asked not to be called loses voice consent before the
// update returns; at the deadline the task is expired and the result says
// so, and the journey takes its fallback.
func CallTask(ctx workflow.Context, in CallTaskInput) (CallTaskResult, error) {
	ct, err := newCallTaskRun(ctx, in)
	if err != nil {
		return CallTaskResult{}, err
	}
	return ct.run(ctx)
}

type callTaskRun struct {
	in     CallTaskInput
	logger log.Logger
	state  CallTaskState
	// applying is set while an outcome's effects are being recorded, applied
	// once they are: an outcome counts only when Postgres has it all.
	applying bool
	applied  bool
	touchID  int64
}

func newCallTaskRun(ctx workflow.Context, in CallTaskInput) (*callTaskRun, error) {
	if err := in.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadInput, nil)
	}
	ct := &callTaskRun{
		in: in,
		logger: log.With(workflow.GetLogger(ctx),
			"journey_workflow_id", in.JourneyWorkflowID, "step_key", in.StepKey, "customer_id", in.CustomerID),
	}
	if err := workflow.SetQueryHandler(ctx, QueryCallTask, func() (CallTaskState, error) {
		return ct.state, nil
	}); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCallOutcome, ct.onOutcome,
		workflow.UpdateHandlerOptions{Validator: ct.validateOutcome}); err != nil {
		return nil, err
	}
	return ct, nil
}

func (ct *callTaskRun) validateOutcome(ctx workflow.Context, o CallOutcome) error {
	switch {
	case !o.Outcome.Valid():
		return fmt.Errorf("unknown call outcome %q", o.Outcome)
	case ct.state.TaskID != 0 && o.TaskID != ct.state.TaskID:
		return fmt.Errorf("this workflow waits for call task %d, not %d", ct.state.TaskID, o.TaskID)
	case (ct.applied || ct.applying) && o.Outcome != ct.state.Outcome:
		return fmt.Errorf("call task %d already has outcome %q", ct.state.TaskID, ct.state.Outcome)
	}
	return nil
}

// onOutcome applies the agent's outcome once; a repeated update waits for
// and returns the same result. If applying fails, the task stays open for a
// corrected update or its deadline.
func (ct *callTaskRun) onOutcome(ctx workflow.Context, o CallOutcome) (CallTaskResult, error) {
	if err := workflow.Await(ctx, func() bool { return ct.state.TaskID != 0 && !ct.applying }); err != nil {
		return CallTaskResult{}, err
	}
	if o.TaskID != ct.state.TaskID {
		return CallTaskResult{}, fmt.Errorf("this workflow waits for call task %d, not %d", ct.state.TaskID, o.TaskID)
	}
	if ct.applied {
		if o.Outcome != ct.state.Outcome {
			return CallTaskResult{}, fmt.Errorf("call task %d already has outcome %q", ct.state.TaskID, ct.state.Outcome)
		}
		return ct.result(), nil
	}
	if err := ct.apply(ctx, o.Outcome); err != nil {
		return CallTaskResult{}, err
	}
	return ct.result(), nil
}

// apply records the effects of an outcome (ledger, consent, phone flag).
func (ct *callTaskRun) apply(ctx workflow.Context, o calltask.Outcome) error {
	ct.applying, ct.state.Outcome = true, o
	defer func() { ct.applying = false }()
	actx := workflow.WithActivityOptions(ctx, callTaskActivity)
	err := workflow.ExecuteActivity(actx, a.ApplyCallOutcome, activities.ApplyCallOutcomeInput{
		TaskID: ct.state.TaskID, Outcome: o, Intent: ct.in.Intent,
	}).Get(ctx, &ct.touchID)
	if err != nil {
		ct.state.Outcome = ""
		ct.logger.Warn("call outcome not applied", "task_id", ct.state.TaskID, "outcome", o, "error", err)
		return err
	}
	ct.applied = true
	ct.logger.Info("call task completed", "task_id", ct.state.TaskID, "outcome", o)
	return nil
}

func (ct *callTaskRun) result() CallTaskResult {
	return CallTaskResult{TaskID: ct.state.TaskID, Outcome: ct.state.Outcome, TouchID: ct.touchID}
}

func (ct *callTaskRun) run(ctx workflow.Context) (CallTaskResult, error) {
	info := workflow.GetInfo(ctx)
	ct.state.DueAt = workflow.Now(ctx).Add(ct.in.Deadline)
	actx := workflow.WithActivityOptions(ctx, callTaskActivity)
	var opened activities.OpenCallTaskResult
	err := workflow.ExecuteActivity(actx, a.OpenCallTask, activities.OpenCallTaskInput{Intent: ct.in.Intent, NewTask: calltask.NewTask{
		WorkflowID: info.WorkflowExecution.ID, JourneyWorkflowID: ct.in.JourneyWorkflowID,
		EntryID: ct.in.EntryID, StepKey: ct.in.StepKey, CustomerID: ct.in.CustomerID,
		Journey: ct.in.Journey, JourneyVersion: ct.in.JourneyVersion, StepID: ct.in.StepID,
		Reason: ct.in.Reason, TalkingPointsName: ct.in.TalkingPoints.Name, TalkingPoints: ct.in.TalkingPoints.Body,
		DueAt: ct.state.DueAt,
	}}).Get(ctx, &opened)
	if err != nil {
		return CallTaskResult{}, err
	}
	if opened.Blocked != "" {
		ct.logger.Info("call blocked", "rule", opened.Blocked)
		ct.state.Outcome, ct.state.Done = calltask.Blocked, true
		return CallTaskResult{Outcome: calltask.Blocked, Reason: opened.Blocked, TouchID: opened.TouchID}, nil
	}
	ct.state.TaskID = opened.TaskID
	ct.logger.Info("call task open", "task_id", opened.TaskID, "due_at", ct.state.DueAt)

	got, err := workflow.AwaitWithTimeout(ctx, ct.in.Deadline, func() bool { return ct.applied })
	if err != nil {
		if temporal.IsCanceledError(err) {
			// The journey was cancelled: close the task so no one calls.
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			_ = workflow.ExecuteActivity(workflow.WithActivityOptions(dctx, callTaskActivity),
				a.ExpireCallTask, ct.state.TaskID).Get(dctx, nil)
		}
		return CallTaskResult{}, err
	}
	if !got {
		if err := ct.expire(ctx); err != nil {
			return CallTaskResult{}, err
		}
	}
	// Let every update handler answer before the workflow returns.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return CallTaskResult{}, err
	}
	ct.state.Done = true
	return ct.result(), nil
}

// expire closes the task at its deadline. An outcome an agent recorded in
// Postgres just before wins: it is applied like one sent by the desk.
func (ct *callTaskRun) expire(ctx workflow.Context) error {
	// An outcome being applied right now settles the task.
	if err := workflow.Await(ctx, func() bool { return !ct.applying }); err != nil {
		return err
	}
	if ct.applied {
		return nil
	}
	actx := workflow.WithActivityOptions(ctx, callTaskActivity)
	var res activities.ExpireCallTaskResult
	if err := workflow.ExecuteActivity(actx, a.ExpireCallTask, ct.state.TaskID).Get(ctx, &res); err != nil {
		return err
	}
	if err := workflow.Await(ctx, func() bool { return !ct.applying }); err != nil {
		return err
	}
	switch {
	case ct.applied:
		return nil
	case res.Outcome == calltask.Expired:
		ct.state.Outcome = calltask.Expired
		ct.logger.Info("call task expired", "task_id", ct.state.TaskID)
		return nil
	}
	return ct.apply(ctx, res.Outcome)
}
