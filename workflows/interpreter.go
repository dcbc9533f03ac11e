package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
)

// versionInterpreter guards the change from the linear interpreter to the
// one below (jumps, events, continue-as-new).
const versionInterpreter = "journey-interpreter"

// versionVisibility guards the search attribute upserts: runs recorded
// before them replay without them.
const versionVisibility = "journey-visibility"

// maxStepsPerRun bounds the steps one run executes before it continues as
// new, whatever the server suggests, so a looping journey's history stays small.
const maxStepsPerRun = 500

// maxPendingEvents bounds the events a journey keeps while nothing waits for them.
const maxPendingEvents = 50

// stepRetry is for the small activities of the interpreter (branch, local
// time, human call): transient database trouble is retried, bad input is not.
var stepRetry = &temporal.RetryPolicy{
	InitialInterval:        time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        time.Minute,
	MaximumAttempts:        10,
	NonRetryableErrorTypes: []string{activities.ErrTypeCustomerNotFound, activities.ErrTypeBadStep},
}

func stepActivity(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy:         stepRetry,
	})
}

// run interprets the journey: it starts at the first step (or where the
// previous run left off), follows each step's jumps, listens for events,
// ends early on an exit_on event, and continues as new when the server
// suggests it.
func (j *journeyRun) run(ctx workflow.Context) (JourneyResult, error) {
	def := j.in.Journey
	events := workflow.GetSignalChannel(ctx, SignalEvent)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var ev Event
			events.Receive(ctx, &ev)
			j.onEvent(ev)
		}
	})
	visible := workflow.GetVersion(ctx, versionVisibility, workflow.DefaultVersion, 1) >= 1
	idx := 0
	if r := j.in.Resume; r != nil {
		if idx = def.StepIndex(r.Step); idx < 0 {
			return JourneyResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("resume at step %q, which the journey does not have", r.Step), ErrTypeBadInput, nil)
		}
	}
	for ran := 0; idx >= 0 && idx < len(def.Steps); ran++ {
		if j.exitEvent != "" {
			break
		}
		if ran > 0 && (workflow.GetInfo(ctx).GetContinueAsNewSuggested() || ran >= maxStepsPerRun) {
			// Take in the signals that arrived; one of them may end the journey.
			for {
				var ev Event
				if !events.ReceiveAsync(&ev) {
					break
				}
				j.onEvent(ev)
			}
			if j.exitEvent != "" {
				break
			}
			return JourneyResult{}, j.continueAsNew(ctx, def.Steps[idx].ID)
		}
		step := def.Steps[idx]
		j.state.CurrentStep = step.ID
		if visible {
			upsertVisibility(ctx, j.state)
		}
		j.visits[step.ID]++
		out, err := j.step(ctx, idx)
		if err != nil {
			return JourneyResult{Steps: j.state.Steps}, err
		}
		out.Visit = j.visits[step.ID]
		j.results[step.ID] = out.Result
		j.record(out)
		if step.Kind == journey.StepExit {
			break
		}
		idx = def.StepIndex(out.Next)
	}
	j.state.CurrentStep, j.state.Waiting = "", ""
	j.state.Done = true
	if j.exitEvent != "" {
		j.state.ExitReason = "event." + string(j.exitEvent)
	}
	if visible {
		upsertVisibility(ctx, j.state)
	}
	j.logger.Info("journey finished", "steps", j.state.StepsTotal, "exit_reason", j.state.ExitReason)
	return JourneyResult{Steps: j.state.Steps}, nil
}

func (j *journeyRun) record(out StepOutcome) {
	j.state.StepsTotal++
	j.state.Steps = append(j.state.Steps, out)
	if n := len(j.state.Steps); n > MaxSummarySteps {
		j.state.Steps = slices.Clone(j.state.Steps[n-MaxSummarySteps:])
	}
}

func (j *journeyRun) onEvent(ev Event) {
	if slices.Contains(j.in.Journey.ExitOn, string(ev.Kind)) && j.exitEvent == "" {
		j.exitEvent = ev.Kind
		j.logger.Info("exit event received", "event", ev.Kind)
	}
	j.events = append(j.events, ev)
	if len(j.events) > maxPendingEvents {
		j.events = slices.Clone(j.events[len(j.events)-maxPendingEvents:])
	}
}

// continueAsNew hands the journey's state to a fresh run, which starts at
// step next.
func (j *journeyRun) continueAsNew(ctx workflow.Context, next string) error {
	in := j.in
	in.Resume = &Resume{
		Step: next, Visits: j.visits, Results: j.results,
		Steps: j.state.Steps, StepsTotal: j.state.StepsTotal, Events: j.events, Variant: j.variant,
	}
	j.logger.Info("continuing as new", "next_step", next, "steps", j.state.StepsTotal)
	return workflow.NewContinueAsNewError(ctx, Journey, in)
}

// capped applies the input's MaxWait.
func (j *journeyRun) capped(d time.Duration) time.Duration {
	if j.in.MaxWait > 0 && d > j.in.MaxWait {
		return j.in.MaxWait
	}
	return d
}

// sleep waits for d unless an exit event ends the journey first; it reports
// whether the full time passed.
func (j *journeyRun) sleep(ctx workflow.Context, stepID string, d time.Duration) (bool, error) {
	ok, err := workflow.AwaitWithOptions(ctx, timerOptions(stepID, d), func() bool { return j.exitEvent != "" })
	return !ok, err
}

// timerOptions names a step's timer so that the Temporal UI shows which
// step a journey waits in.
func timerOptions(stepID string, d time.Duration) workflow.AwaitOptions {
	return workflow.AwaitOptions{Timeout: d, TimerOptions: workflow.TimerOptions{Summary: "step " + stepID}}
}

// step runs step idx and says where the journey goes next.
func (j *journeyRun) step(ctx workflow.Context, idx int) (StepOutcome, error) {
	def := j.in.Journey
	step := def.Steps[idx]
	out := StepOutcome{StepID: step.ID, Kind: string(step.Kind), Next: def.Following(idx)}
	or := func(target string) string {
		if target != "" {
			return target
		}
		return def.Following(idx)
	}
	switch step.Kind {
	case journey.StepSend:
		sent, err := j.sendWithFallback(ctx, step)
		if err != nil {
			return out, err
		}
		sent.Next = out.Next
		return sent, nil

	case journey.StepWait:
		d := step.Wait
		if step.Until != "" {
			var until time.Time
			err := workflow.ExecuteActivity(stepActivity(ctx), a.NextLocalTime, activities.LocalTimeInput{
				CustomerID: j.in.CustomerID, Until: step.Until, Now: workflow.Now(ctx),
			}).Get(ctx, &until)
			if err != nil {
				return out, err
			}
			d = until.Sub(workflow.Now(ctx))
		}
		d = j.capped(max(d, 0))
		j.state.Waiting = "until " + workflow.Now(ctx).Add(d).UTC().Format(time.RFC3339)
		full, err := j.sleep(ctx, step.ID, d)
		j.state.Waiting = ""
		if err != nil {
			return out, err
		}
		if !full {
			out.Result, out.Next = "exited", ""
		}
		return out, nil

	case journey.StepWaitFor:
		return j.waitFor(ctx, idx, out, or)

	case journey.StepBranch:
		var chosen int
		if step.Attribute != "" {
			whens := make([]string, len(step.Cases))
			for i, c := range step.Cases {
				whens[i] = c.When
			}
			var res activities.BranchResult
			err := workflow.ExecuteActivity(stepActivity(ctx), a.EvaluateBranch, activities.BranchInput{
				CustomerID: j.in.CustomerID, Attribute: step.Attribute, Cases: whens,
			}).Get(ctx, &res)
			if err != nil {
				return out, err
			}
			chosen = res.Case
		} else {
			chosen = slices.IndexFunc(step.Cases, func(c journey.Case) bool { return c.When == j.results[step.OutcomeOf] })
		}
		if chosen >= 0 && chosen < len(step.Cases) {
			out.Result, out.Next = step.Cases[chosen].When, or(step.Cases[chosen].Goto)
		} else {
			out.Result, out.Next = "default", or(step.Default)
		}
		return out, nil

	case journey.StepSplit:
		v := step.Variants[journey.PickVariant(j.in.CustomerID, def.Name, step)]
		out.Result, out.Variant, out.Next = v.Name, v.Name, or(v.Goto)
		j.variant = v.Name
		return out, nil

	case journey.StepHumanCall:
		return j.humanCall(ctx, step, out, or(step.FallbackStep))

	case journey.StepExit:
		out.Next = ""
		return out, nil
	}
	// Validate rejects unknown kinds; this guards a future kind reaching
	// an old worker.
	return out, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("step %s: unknown kind %q", step.ID, step.Kind), ErrTypeBadInput, nil)
}

// waitFor waits for the first of the step's events received since the last
// send, or for the timeout.
func (j *journeyRun) waitFor(ctx workflow.Context, idx int, out StepOutcome, or func(string) string) (StepOutcome, error) {
	step := j.in.Journey.Steps[idx]
	match := func() int {
		for _, ev := range j.events {
			if k := slices.IndexFunc(step.Events, func(b journey.EventBranch) bool { return b.Event == string(ev.Kind) }); k >= 0 {
				return k
			}
		}
		return -1
	}
	timeout := j.capped(step.Timeout)
	names := make([]string, len(step.Events))
	for i, e := range step.Events {
		names[i] = e.Event
	}
	j.state.Waiting = "for " + strings.Join(names, ", ") + " until " + workflow.Now(ctx).Add(timeout).UTC().Format(time.RFC3339)
	_, err := workflow.AwaitWithOptions(ctx, timerOptions(step.ID, timeout), func() bool { return match() >= 0 || j.exitEvent != "" })
	j.state.Waiting = ""
	if err != nil {
		return out, err
	}
	switch k := match(); {
	case k >= 0:
		out.Result, out.Next = step.Events[k].Event, or(step.Events[k].Goto)
		j.events = nil // consumed: a later wait_for needs a new event
	case j.exitEvent != "":
		out.Result, out.Next = "exited", ""
	default:
		out.Result, out.Next = "timeout", or(step.OnTimeout)
	}
	return out, nil
}

// sendWithFallback sends the step's message and, when it is blocked or
// fails and the step names a fallback channel, sends it there instead.
func (j *journeyRun) sendWithFallback(ctx workflow.Context, step journey.Step) (StepOutcome, error) {
	j.events = nil // wait_for steps after this send wait for events about it
	out, err := j.send(ctx, step)
	if err != nil {
		return out, err
	}
	out.Intent, out.Result = step.Intent, string(out.Status)
	if step.FallbackChannel == "" || out.Status == ledger.Sent {
		return out, nil
	}
	j.logger.Info("trying fallback channel", "step", step.ID, "from", step.Channel, "to", step.FallbackChannel, "reason", out.Reason)
	fb := step
	fb.Channel = step.FallbackChannel
	fbOut, err := j.send(ctx, fb)
	if err != nil {
		return fbOut, err
	}
	fbOut.Intent, fbOut.Result = step.Intent, string(fbOut.Status)
	fbOut.Reason = strings.TrimPrefix(fbOut.Reason+"; ", "; ") + "fallback after " + string(step.Channel) + " " + string(out.Status) + " (" + out.Reason + ")"
	return fbOut, nil
}

// stepKey is the ledger key of a step's touch: stepID#visit, stable across
// retries and continue-as-new. A send on the step's fallback channel (a
// copy of the step whose Channel is its FallbackChannel) gets its own key.
func (j *journeyRun) stepKey(step journey.Step) string {
	if step.FallbackChannel != "" && step.Channel == step.FallbackChannel {
		return fmt.Sprintf("%s~fallback#%d", step.ID, j.visits[step.ID])
	}
	return fmt.Sprintf("%s#%d", step.ID, j.visits[step.ID])
}

// versionCallTask guards the change of human_call steps from recording a
// pending call to opening a real call task (the CallTask child workflow).
const versionCallTask = "human-call-task"

// humanCall asks a person to call: it opens a call task for the desk and
// waits for the agent's outcome, raced against the step's deadline. A call
// that was made goes on to the next step with the outcome as the step's
// result (so a branch on outcome_of can follow it); when no one called in
// time, or no one may call, the journey takes the step's fallback. Nothing
// here can place an automated call.
func (j *journeyRun) humanCall(ctx workflow.Context, step journey.Step, out StepOutcome, fallback string) (StepOutcome, error) {
	info := workflow.GetInfo(ctx)
	out.Channel, out.Intent = channel.Voice, channel.Caring
	if workflow.GetVersion(ctx, versionCallTask, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return j.pendingHumanCall(ctx, step, out, fallback)
	}
	deadline := step.Deadline
	if deadline <= 0 {
		deadline = DefaultCallDeadline
	}
	tpl := j.in.Journey.Templates[step.Template]
	res, err := RunCallTask(ctx, CallTaskInput{
		CustomerID: j.in.CustomerID, JourneyWorkflowID: info.WorkflowExecution.ID, EntryID: j.entryID,
		StepKey: j.stepKey(step), Journey: j.in.Journey.Name, JourneyVersion: j.in.Journey.Version,
		StepID: step.ID, Channel: channel.Voice, Intent: channel.Caring, Reason: step.Reason,
		TalkingPoints: TalkingPoints{Name: step.Template, Body: tpl.Body},
		Deadline:      j.capped(deadline),
	})
	if err != nil {
		return out, err
	}
	out.TouchID, out.Result = res.TouchID, string(res.Outcome)
	switch res.Outcome {
	case calltask.Expired:
		out.Reason, out.Next = "call.expired", fallback
	case calltask.Blocked:
		out.Status, out.Reason, out.Next = ledger.Blocked, res.Reason, fallback
	default:
		out.Status, out.Reason = ledger.Sent, "call."+string(res.Outcome)
	}
	j.logger.Info("call settled", "step", step.ID, "outcome", res.Outcome, "next", out.Next)
	return out, nil
}

// pendingHumanCall is how human_call steps ran before call tasks existed:
// the ledger records that a call is needed and the journey takes the
// fallback at once. Only histories recorded before versionCallTask use it.
func (j *journeyRun) pendingHumanCall(ctx workflow.Context, step journey.Step, out StepOutcome, fallback string) (StepOutcome, error) {
	info := workflow.GetInfo(ctx)
	in := activities.HumanCallInput{
		Planned: ledger.Planned{
			Key:     ledger.Key{WorkflowID: info.WorkflowExecution.ID, EntryID: j.entryID, StepKey: j.stepKey(step)},
			Journey: j.in.Journey.Name, JourneyVersion: j.in.Journey.Version,
			CustomerID: j.in.CustomerID, StepID: step.ID, Channel: channel.Voice, Intent: channel.Caring,
		},
		Reason: step.Reason, Deadline: step.Deadline,
	}
	var res activities.DeliverResult
	if err := workflow.ExecuteActivity(stepActivity(ctx), a.RecordHumanCall, in).Get(ctx, &res); err != nil {
		return out, err
	}
	out.Status, out.Reason, out.TouchID = res.Status, res.Reason, res.TouchID
	out.Result, out.Next = "pending", fallback
	j.logger.Info("human call recorded", "step", step.ID, "status", res.Status, "fallback", fallback)
	return out, nil
}
