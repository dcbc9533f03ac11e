package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
)

// callInstead works a send step that only a person may deliver: it opens a
// call task and waits for the agent's outcome. When no one calls before the
// deadline, or when a rule forbids calling, it records why and sends the
// step's fallback, a personal email, never an automated call.
func (j *journeyRun) callInstead(ctx workflow.Context, step journey.Step) (StepOutcome, error) {
	info := workflow.GetInfo(ctx)
	stepKey := j.stepKey(step)
	deadline := step.CallDeadline
	if deadline <= 0 {
		deadline = DefaultCallDeadline
	}
	reason := step.CallReason
	if reason == "" {
		reason = fmt.Sprintf("%s message from journey %s (step %s)", step.Intent, j.in.Journey.Name, step.ID)
	}
	res, err := RunCallTask(ctx, CallTaskInput{
		CustomerID: j.in.CustomerID, JourneyWorkflowID: info.WorkflowExecution.ID, EntryID: j.entryID,
		StepKey: stepKey, Journey: j.in.Journey.Name, JourneyVersion: j.in.Journey.Version,
		StepID: step.ID, Channel: step.Channel, Intent: step.Intent, Reason: reason,
		TalkingPoints: TalkingPoints{Name: step.Template, Body: j.in.Journey.Templates[step.Template].Body},
		Deadline:      j.capped(deadline),
	})
	out := StepOutcome{StepID: step.ID, Kind: string(step.Kind), Channel: step.Channel}
	if err != nil {
		return out, err
	}
	out.Reason, out.TouchID = "call."+string(res.Outcome), res.TouchID
	j.logger.Info("call settled", "step", step.ID, "outcome", res.Outcome, "task_id", res.TaskID)
	switch res.Outcome {
	case calltask.Expired:
	case calltask.Blocked:
		// No one may call (e.g. no voice consent): the ledger names the rule.
		out.Status, out.Reason = ledger.Blocked, res.Reason
	default:
		out.Status = ledger.Sent
		return out, nil
	}
	if step.Fallback == "" {
		return out, nil
	}
	j.record(out)
	fallback := journey.Step{
		ID: step.ID + ".fallback", Kind: journey.StepSend,
		Channel: channel.Email, Intent: step.Intent, Template: step.Fallback,
	}
	if calltask.Route(fallback.Channel, fallback.Intent, j.in.CallPolicy) == calltask.Human {
		return StepOutcome{StepID: fallback.ID, Kind: string(fallback.Kind), Channel: fallback.Channel,
			Reason: "fallback.routes_to_human"}, nil
	}
	j.visits[fallback.ID]++
	return j.send(ctx, fallback)
}
