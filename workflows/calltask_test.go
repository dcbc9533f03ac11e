package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
)

func newCallEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Journey)
	env.RegisterWorkflowWithOptions(CallTask, workflowRegisterName(CallTaskWorkflowName))
	env.RegisterActivity(&activities.Activities{})
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

func callInput() CallTaskInput {
	return CallTaskInput{
		CustomerID: "c-1", JourneyWorkflowID: "journey:wellness:c-1", EntryID: "run-1", StepKey: "check-in-call#1",
		Journey: "wellness", JourneyVersion: 1, StepID: "check-in-call", Channel: channel.Voice, Intent: channel.Caring,
		Reason: "check-in", TalkingPoints: TalkingPoints{Name: "check-in", Body: "Ask how it went."},
		Deadline: 48 * time.Hour,
	}
}

type updateResult struct {
	rejected error
	err      error
	res      CallTaskResult
	done     bool
}

func (u *updateResult) callbacks() *testsuite.TestUpdateCallback {
	return &testsuite.TestUpdateCallback{
		OnReject:   func(err error) { u.rejected = err },
		OnAccept:   func() {},
		OnComplete: func(v any, err error) { u.done = true; u.err = err; u.res, _ = v.(CallTaskResult) },
	}
}

func TestCallTaskExpiresAtItsDeadlineWithoutAnOutcome(t *testing.T) {
	env := newCallEnv(t)
	env.OnActivity(a.OpenCallTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OpenCallTaskInput) (activities.OpenCallTaskResult, error) {
			assert.Equal(t, CallTaskWorkflowID("journey:wellness:c-1", "check-in-call#1"), in.WorkflowID,
				"the task names the workflow the desk sends the outcome to")
			return activities.OpenCallTaskResult{TaskID: 7}, nil
		}).Once()
	env.OnActivity(a.ExpireCallTask, mock.Anything, int64(7)).Return(
		activities.ExpireCallTaskResult{Outcome: calltask.Expired}, nil).Once()
	env.SetStartWorkflowOptions(testStartOptions(CallTaskWorkflowID("journey:wellness:c-1", "check-in-call#1")))

	start := env.Now()
	env.ExecuteWorkflow(CallTask, callInput())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res CallTaskResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, calltask.Expired, res.Outcome)
	assert.Equal(t, int64(7), res.TaskID)
	assert.Zero(t, res.TouchID, "an expired task is no call and no touch")
	assert.GreaterOrEqual(t, env.Now().Sub(start), 48*time.Hour, "the task stayed open for its whole deadline")
}

func TestCallTaskAppliesTheAgentsOutcome(t *testing.T) {
	env := newCallEnv(t)
	env.OnActivity(a.OpenCallTask, mock.Anything, mock.Anything).Return(activities.OpenCallTaskResult{TaskID: 7}, nil).Once()
	env.OnActivity(a.ApplyCallOutcome, mock.Anything, activities.ApplyCallOutcomeInput{
		TaskID: 7, Outcome: calltask.DoNotCall, Intent: channel.Caring,
	}).Return(int64(42), nil).Once()

	var bad, good, again updateResult
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateCallOutcome, "bad", bad.callbacks(), CallOutcome{TaskID: 7, Outcome: "maybe"})
	}, 2*time.Hour)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateCallOutcome, "good", good.callbacks(), CallOutcome{TaskID: 7, Outcome: calltask.DoNotCall})
		env.UpdateWorkflow(UpdateCallOutcome, "again", again.callbacks(), CallOutcome{TaskID: 7, Outcome: calltask.DoNotCall})
	}, 3*time.Hour)

	start := env.Now()
	env.ExecuteWorkflow(CallTask, callInput())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res CallTaskResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, CallTaskResult{TaskID: 7, Outcome: calltask.DoNotCall, TouchID: 42}, res)
	assert.Less(t, env.Now().Sub(start), 4*time.Hour, "the outcome ends the wait, not the deadline")

	require.Error(t, bad.rejected, "the validator rejects an outcome the desk does not offer")
	assert.Contains(t, bad.rejected.Error(), `unknown call outcome "maybe"`)
	require.True(t, good.done)
	require.NoError(t, good.err)
	assert.Equal(t, res, good.res)
	require.True(t, again.done, "a repeated update is answered, not applied twice")
	assert.Equal(t, res, again.res)
}

func TestCallTaskTakesAnOutcomeRecordedJustBeforeTheDeadline(t *testing.T) {
	env := newCallEnv(t)
	env.OnActivity(a.OpenCallTask, mock.Anything, mock.Anything).Return(activities.OpenCallTaskResult{TaskID: 7}, nil).Once()
	env.OnActivity(a.ExpireCallTask, mock.Anything, int64(7)).Return(
		activities.ExpireCallTaskResult{Outcome: calltask.Voicemail}, nil).Once()
	env.OnActivity(a.ApplyCallOutcome, mock.Anything, mock.Anything).Return(int64(9), nil).Once()

	env.ExecuteWorkflow(CallTask, callInput())
	require.NoError(t, env.GetWorkflowError())
	var res CallTaskResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, CallTaskResult{TaskID: 7, Outcome: calltask.Voicemail, TouchID: 9}, res)
}

func TestCallTaskRejectsInputWithoutDeadline(t *testing.T) {
	env := newCallEnv(t)
	in := callInput()
	in.Deadline = 0
	env.ExecuteWorkflow(CallTask, in)
	require.Error(t, env.GetWorkflowError())
	assert.Contains(t, env.GetWorkflowError().Error(), "deadline must be positive")
}

func wellnessInput() JourneyInput {
	return JourneyInput{CustomerID: "c-1", Journey: journey.WellnessCheckIn(24*time.Hour, 48*time.Hour)}
}

// TestCaringVoiceStepNeverRoboCallsAndFallsBackToAPersonalEmail runs the
// wellness journey with no agent answering: the call task expires and the
// journey sends the personal email; Deliver never sees a voice message.
func TestCaringVoiceStepNeverRoboCallsAndFallsBackToAPersonalEmail(t *testing.T) {
	env := newCallEnv(t)
	env.OnActivity(a.OpenCallTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OpenCallTaskInput) (activities.OpenCallTaskResult, error) {
			assert.Equal(t, "Wellness check-in a month after joining", in.Reason)
			assert.Contains(t, in.TalkingPoints, "Ask {{.FirstName}}")
			assert.Equal(t, "journey:wellness:c-1", in.JourneyWorkflowID)
			return activities.OpenCallTaskResult{TaskID: 7}, nil
		}).Once()
	env.OnActivity(a.ExpireCallTask, mock.Anything, int64(7)).Return(
		activities.ExpireCallTaskResult{Outcome: calltask.Expired}, nil).Once()
	var delivered []activities.DeliverInput
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			delivered = append(delivered, in)
			return activities.DeliverResult{TouchID: int64(len(delivered)), Status: ledger.Sent}, nil
		}).Times(2)
	env.SetStartWorkflowOptions(testStartOptions("journey:wellness:c-1"))

	env.ExecuteWorkflow(Journey, wellnessInput())
	require.NoError(t, env.GetWorkflowError())
	var res JourneyResult
	require.NoError(t, env.GetWorkflowResult(&res))

	require.Len(t, delivered, 2)
	for _, d := range delivered {
		assert.NotEqual(t, channel.Voice, d.Channel, "no automated voice message, ever")
	}
	assert.Equal(t, "check-in-note", delivered[0].StepID)
	assert.Contains(t, delivered[0].Template.Body, "Maria Keller", "the fallback is signed by a person")
	assert.Equal(t, "resources-email", delivered[1].StepID)
	require.Len(t, res.Steps, 4)
	assert.Equal(t, "call.expired", res.Steps[0].Reason)
	assert.Equal(t, ledger.Sent, res.Steps[1].Status)
}

func TestABlockedCallSendsTheFallbackAtOnce(t *testing.T) {
	env := newCallEnv(t)
	env.OnActivity(a.OpenCallTask, mock.Anything, mock.Anything).Return(
		activities.OpenCallTaskResult{Blocked: "consent.voice", TouchID: 5}, nil).Once()
	var steps []string
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			steps = append(steps, in.StepID)
			return activities.DeliverResult{Status: ledger.Sent}, nil
		}).Twice()
	start := env.Now()
	env.ExecuteWorkflow(Journey, wellnessInput())
	require.NoError(t, env.GetWorkflowError())
	var res JourneyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, []string{"check-in-note", "resources-email"}, steps)
	call := res.Steps[0]
	assert.Equal(t, "check-in-call", call.StepID)
	assert.Equal(t, channel.Voice, call.Channel)
	assert.Equal(t, ledger.Blocked, call.Status)
	assert.Equal(t, "consent.voice", call.Reason)
	assert.Equal(t, int64(5), call.TouchID)
	assert.Less(t, env.Now().Sub(start), 25*time.Hour, "no waiting for a call that may not happen")
}

func TestCaringVoiceStepGoesDownTheReachedBranch(t *testing.T) {
	env := newCallEnv(t)
	env.OnWorkflow(CallTaskWorkflowName, mock.Anything, mock.Anything).Return(
		CallTaskResult{TaskID: 7, Outcome: calltask.Reached, TouchID: 3}, nil).Once()
	env.OnActivity(a.Deliver, mock.Anything, mock.MatchedBy(func(in activities.DeliverInput) bool {
		return in.StepID == "resources-email"
	})).Return(activities.DeliverResult{TouchID: 4, Status: ledger.Sent}, nil).Once()

	env.ExecuteWorkflow(Journey, wellnessInput())
	require.NoError(t, env.GetWorkflowError())
	var res JourneyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Len(t, res.Steps, 3, "no fallback when the customer was reached")
	call := res.Steps[0]
	assert.Equal(t, "check-in-call", call.StepID)
	assert.Equal(t, ledger.Sent, call.Status)
	assert.Equal(t, "call.reached", call.Reason)
	assert.Equal(t, "reached", call.Result, "a branch on outcome_of sees the call's outcome")
	assert.Equal(t, int64(3), call.TouchID)
	assert.Equal(t, "pause", res.Steps[1].StepID)
}

func TestPolicyRoutesMoreMessagesToAPerson(t *testing.T) {
	env := newCallEnv(t)
	env.OnWorkflow(CallTaskWorkflowName, mock.Anything, mock.Anything).Return(
		func(_ workflow.Context, in CallTaskInput) (CallTaskResult, error) {
			assert.Equal(t, channel.SMS, in.Channel)
			return CallTaskResult{TaskID: 1, Outcome: calltask.NoAnswer, TouchID: 1}, nil
		}).Once()
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(activities.DeliverResult{Status: ledger.Sent}, nil).Twice()
	in := welcomeInput()
	in.CallPolicy = calltask.Policy{Human: []calltask.Pair{{Channel: channel.SMS, Intent: channel.Promotional}}}
	env.ExecuteWorkflow(Journey, in)
	require.NoError(t, env.GetWorkflowError())
	var res JourneyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, "call.no_answer", res.Steps[2].Reason)
}

func workflowRegisterName(name string) workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: name}
}

func testStartOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id}
}

func TestCallTaskStaysOpenWhenAnOutcomeCannotBeApplied(t *testing.T) {
	env := newCallEnv(t)
	env.OnActivity(a.OpenCallTask, mock.Anything, mock.Anything).Return(activities.OpenCallTaskResult{TaskID: 7}, nil).Once()
	env.OnActivity(a.ApplyCallOutcome, mock.Anything, mock.Anything).Return(int64(0),
		temporal.NewNonRetryableApplicationError("not completed in Postgres", activities.ErrTypeCallTask, nil)).Once()
	env.OnActivity(a.ExpireCallTask, mock.Anything, int64(7)).Return(
		activities.ExpireCallTaskResult{Outcome: calltask.Expired}, nil).Once()
	var u updateResult
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateCallOutcome, "u", u.callbacks(), CallOutcome{TaskID: 7, Outcome: calltask.Reached})
	}, time.Hour)
	env.ExecuteWorkflow(CallTask, callInput())
	require.NoError(t, env.GetWorkflowError())
	require.True(t, u.done)
	require.Error(t, u.err, "the desk hears that the outcome did not count")
	var res CallTaskResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, calltask.Expired, res.Outcome, "the task waited on to its deadline")
}
