package workflows

// Names of the human-call task: the CallTask child workflow, its ID, its
// update and query, and its input and result.

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
)

// CallTaskWorkflowName is the registered name of the CallTask workflow.
const CallTaskWorkflowName = "CallTask"

// CallTaskWorkflowID is the ID of the call task a journey opens at a step:
// one per journey and step visit.
func CallTaskWorkflowID(journeyWorkflowID, stepKey string) string {
	return "calltask:" + journeyWorkflowID + ":" + stepKey
}

// UpdateCallOutcome is the update that delivers an agent's outcome to a
// CallTask workflow. The call desk sends it after recording the outcome (and
// the agent's notes, which never enter Temporal) in Postgres.
const UpdateCallOutcome = "call-outcome"

// QueryCallTask returns the CallTask's CallTaskState.
const QueryCallTask = "call-task"

// DefaultCallDeadline is how long a call task stays open when the step does
// not say.
const DefaultCallDeadline = 48 * time.Hour

// TalkingPoints is the template the agent reads from.
type TalkingPoints struct {
	Name string `json:"name,omitempty"`
	Body string `json:"body"`
}

// CallTaskInput opens one call task. It carries ids, the reason and the
// talking points template, never the customer's name or number.
type CallTaskInput struct {
	CustomerID        string `json:"customer_id"`
	JourneyWorkflowID string `json:"journey_workflow_id"`
	// EntryID is the journey's first run id: it tells a deliberate re-entry
	// apart from a retry, as in the ledger.
	EntryID        string         `json:"entry_id"`
	StepKey        string         `json:"step_key"`
	Journey        string         `json:"journey"`
	JourneyVersion int            `json:"journey_version"`
	StepID         string         `json:"step_id"`
	Channel        channel.Name   `json:"channel"`
	Intent         channel.Intent `json:"intent"`
	Reason         string         `json:"reason"`
	TalkingPoints  TalkingPoints  `json:"talking_points"`
	// Deadline is how long the task stays open before the journey takes its
	// fallback.
	Deadline time.Duration `json:"deadline"`
}

// Validate reports what makes the input unable to open a task.
func (in CallTaskInput) Validate() error {
	switch {
	case in.CustomerID == "":
		return fmt.Errorf("call task: customer id is empty")
	case in.JourneyWorkflowID == "" || in.StepKey == "":
		return fmt.Errorf("call task: journey workflow id and step key are required")
	case in.Deadline <= 0:
		return fmt.Errorf("call task: deadline must be positive, got %s", in.Deadline)
	case !in.Channel.Valid() || !in.Intent.Valid():
		return fmt.Errorf("call task: unknown channel %q or intent %q", in.Channel, in.Intent)
	}
	return nil
}

// CallTaskResult is what became of the call. It carries the outcome only;
// the agent's notes stay in Postgres.
type CallTaskResult struct {
	TaskID  int64            `json:"task_id"`
	Outcome calltask.Outcome `json:"outcome"`
	// TouchID is the ledger row of the call (or of the blocked call); 0
	// when the task expired.
	TouchID int64 `json:"touch_id,omitempty"`
	// Reason names the rule that blocked the call when Outcome is blocked.
	Reason string `json:"reason,omitempty"`
}

// CallOutcome is the payload of UpdateCallOutcome.
type CallOutcome struct {
	TaskID  int64            `json:"task_id"`
	Outcome calltask.Outcome `json:"outcome"`
}

// CallTaskState is what QueryCallTask returns.
type CallTaskState struct {
	TaskID  int64            `json:"task_id"`
	DueAt   time.Time        `json:"due_at"`
	Outcome calltask.Outcome `json:"outcome,omitempty"`
	Done    bool             `json:"done"`
}

// SendCallOutcome delivers an outcome already recorded in Postgres to the
// task's CallTask workflow and waits until the workflow has applied it
// (consent withdrawn, ledger written).
func SendCallOutcome(ctx context.Context, c client.Client, workflowID string, o CallOutcome) (CallTaskResult, error) {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   UpdateCallOutcome,
		Args:         []any{o},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return CallTaskResult{}, fmt.Errorf("send call outcome of task %d: %w", o.TaskID, err)
	}
	var res CallTaskResult
	if err := h.Get(ctx, &res); err != nil {
		return CallTaskResult{}, fmt.Errorf("call outcome of task %d: %w", o.TaskID, err)
	}
	return res, nil
}
