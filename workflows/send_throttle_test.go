package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
)

func throttledJourney(maxDefer time.Duration) JourneyInput {
	return JourneyInput{CustomerID: "c-1", Journey: journey.Definition{
		Name: "offer", Version: 1,
		Steps: []journey.Step{{ID: "offer", Kind: journey.StepSend, Channel: channel.SMS,
			Intent: channel.Promotional, Template: "t", MaxDefer: maxDefer}},
		Templates: map[string]journey.Template{"t": {Body: "Hi {{.FirstName}}"}},
	}}
}

// A deferred send sleeps in the workflow for exactly the time the throttle
// named (measured on the decision's clock), then asks again with the step's
// max defer, and records what the second answer was.
func TestSendWaitsForTheThrottleAndAsksAgain(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	var asks []activities.DeliverInput
	decidedAt := time.Date(2026, 6, 10, 22, 0, 0, 0, time.UTC)
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			asks = append(asks, in)
			if len(asks) == 1 {
				return activities.DeliverResult{TouchID: 7, Status: ledger.Deferred, Reason: "throttle.quiet_hours.sms",
					DecidedAt: decidedAt, NotBefore: decidedAt.Add(10 * time.Hour)}, nil
			}
			return activities.DeliverResult{TouchID: 7, Status: ledger.Sent}, nil
		})
	env.ExecuteWorkflow(Journey, throttledJourney(36*time.Hour))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res JourneyResult
	require.NoError(t, env.GetWorkflowResult(&res))

	require.Len(t, asks, 2)
	assert.Equal(t, 10*time.Hour, asks[1].RequestedAt.Sub(asks[0].RequestedAt), "slept until the deferral time")
	assert.Equal(t, 36*time.Hour, asks[1].MaxDefer)
	assert.Equal(t, asks[0].Key, asks[1].Key, "the same touch asks again")
	assert.Equal(t, ledger.Sent, res.Steps[0].Status)
}

// An expired answer ends the step: the journey goes on and says why.
func TestSendRecordsExpiry(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		activities.DeliverResult{TouchID: 7, Status: ledger.Expired, Reason: "throttle.cap.all_7d"}, nil).Once()
	env.ExecuteWorkflow(Journey, throttledJourney(0))
	require.NoError(t, env.GetWorkflowError())
	var res JourneyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, ledger.Expired, res.Steps[0].Status)
	assert.Equal(t, "throttle.cap.all_7d", res.Steps[0].Reason)
	env.AssertExpectations(t)
}
