package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
)

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Journey)
	env.RegisterActivity(&activities.Activities{})
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

func welcomeInput() JourneyInput {
	return JourneyInput{CustomerID: "c-1", Journey: journey.Welcome(24*time.Hour, 7*24*time.Hour)}
}

func TestJourneyRunsEveryStepThroughDaysOfWaiting(t *testing.T) {
	env := newEnv(t)
	var queues []string
	var keys []string
	var touch int64
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			queues = append(queues, activity.GetInfo(ctx).TaskQueue)
			keys = append(keys, in.StepKey)
			touch++
			if in.Channel == channel.SMS {
				return activities.DeliverResult{TouchID: touch, Status: ledger.Blocked, Reason: "consent.sms"}, nil
			}
			return activities.DeliverResult{TouchID: touch, Status: ledger.Sent}, nil
		}).Times(3)

	start := env.Now()
	env.ExecuteWorkflow(Journey, welcomeInput())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())

	var res JourneyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, 2, res.Count(ledger.Sent))
	assert.Equal(t, 1, res.Count(ledger.Blocked))
	assert.Equal(t, "consent.sms", res.Steps[2].Reason)
	assert.Equal(t, []string{"outreach-deliver-email", "outreach-deliver-sms", "outreach-deliver-mail"}, queues)
	assert.Equal(t, []string{"welcome-email#1", "tips-sms#1", "hello-postcard#1"}, keys)
	assert.GreaterOrEqual(t, env.Now().Sub(start), 8*24*time.Hour, "the journey waited a day and a week")
}

func TestJourneyStateQueryShowsProgress(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(activities.DeliverResult{TouchID: 1, Status: ledger.Sent}, nil)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryState)
		require.NoError(t, err)
		var st JourneyState
		require.NoError(t, v.Get(&st))
		assert.Equal(t, "pause-1", st.CurrentStep)
		assert.False(t, st.Done)
		require.Len(t, st.Steps, 1)
		assert.Equal(t, ledger.Sent, st.Steps[0].Status)
	}, time.Hour)
	env.ExecuteWorkflow(Journey, welcomeInput())
	require.NoError(t, env.GetWorkflowError())
}

func TestTemplateErrorFailsTheStepAndTheJourneyGoesOn(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.Deliver, mock.Anything, mock.MatchedBy(func(in activities.DeliverInput) bool {
		return in.StepID == "welcome-email"
	})).Return(activities.DeliverResult{}, temporal.NewNonRetryableApplicationError("no field Nickname", activities.ErrTypeTemplate, nil)).Once()
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(activities.DeliverResult{TouchID: 2, Status: ledger.Sent}, nil).Twice()
	env.OnActivity(a.FailTouch, mock.Anything, mock.MatchedBy(func(in activities.FailTouchInput) bool {
		return in.StepKey == "welcome-email#1" && in.Reason == "template.render"
	})).Return(nil).Once()

	env.ExecuteWorkflow(Journey, welcomeInput())
	require.NoError(t, env.GetWorkflowError())
	var res JourneyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, ledger.Failed, res.Steps[0].Status)
	assert.Equal(t, 2, res.Count(ledger.Sent))
}

func TestSendThatKeepsFailingIsRetriedThenRecordedAsFailed(t *testing.T) {
	env := newEnv(t)
	attempts := 0
	env.OnActivity(a.Deliver, mock.Anything, mock.MatchedBy(func(in activities.DeliverInput) bool {
		return in.StepID == "welcome-email"
	})).Return(func(context.Context, activities.DeliverInput) (activities.DeliverResult, error) {
		attempts++
		return activities.DeliverResult{}, errors.New("provider unavailable")
	})
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(activities.DeliverResult{TouchID: 2, Status: ledger.Sent}, nil)
	env.OnActivity(a.FailTouch, mock.Anything, mock.MatchedBy(func(in activities.FailTouchInput) bool {
		return in.Reason == "send.failed"
	})).Return(nil).Once()

	env.ExecuteWorkflow(Journey, welcomeInput())
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, int(deliverRetry.MaximumAttempts), attempts, "retries are bounded")
}

func TestUnknownCustomerFailsTheJourney(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(activities.DeliverResult{},
		temporal.NewNonRetryableApplicationError("customer c-1 does not exist", activities.ErrTypeCustomerNotFound, nil)).Once()
	env.ExecuteWorkflow(Journey, welcomeInput())
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &appErr)
	assert.Equal(t, activities.ErrTypeCustomerNotFound, appErr.Type())
}

func TestInvalidInputIsRejectedWithoutRetry(t *testing.T) {
	env := newEnv(t)
	in := welcomeInput()
	in.Journey.Steps[1].Wait = 0
	env.ExecuteWorkflow(Journey, in)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &appErr)
	assert.Equal(t, ErrTypeBadInput, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	assert.Contains(t, appErr.Error(), "step pause-1: duration must be a positive duration")
}

func TestWorkflowIDRoundTrip(t *testing.T) {
	id := WorkflowID("welcome", "c-001")
	assert.Equal(t, "journey:welcome:c-001", id)
	name, cust, ok := ParseWorkflowID(id)
	assert.True(t, ok)
	assert.Equal(t, "welcome", name)
	assert.Equal(t, "c-001", cust)
}
