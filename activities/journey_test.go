package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/testenv"
)

func TestMatchCase(t *testing.T) {
	c := customer.Customer{
		ID: "c-1", TimeZone: "Europe/Paris", AccountType: customer.AccountCustomer,
		Address:    &customer.Address{City: "Lyon", Country: "FR"},
		Interests:  []string{"skiing", "tennis"},
		Attributes: map[string]any{"plan": "plus", "orders": float64(6), "vip": true},
	}
	for _, tc := range []struct {
		attribute string
		cases     []string
		want      int
	}{
		{"plan", []string{"basic", "plus"}, 1},
		{"plan", []string{"family"}, -1},
		{"orders", []string{"6"}, 0},
		{"vip", []string{"false", "true"}, 1},
		{"interests", []string{"golf", "tennis", "skiing"}, 1},
		{"interests", []string{"golf"}, -1},
		{"city", []string{"Paris", "Lyon"}, 1},
		{"country", []string{"FR"}, 0},
		{"time_zone", []string{"Europe/Paris"}, 0},
		{"missing", []string{"", "<nil>"}, -1},
	} {
		assert.Equal(t, tc.want, activities.MatchCase(c, tc.attribute, tc.cases), "%s %v", tc.attribute, tc.cases)
	}
}

func seed(t *testing.T, acts *activities.Activities) {
	t.Helper()
	c := customer.Customer{
		ID: "c-1", Name: "Ada Lovelace", Email: "ada@example.com", TimeZone: "America/New_York",
		Attributes: map[string]any{"plan": "plus"},
		Consents:   map[channel.Name]bool{channel.Email: true},
	}
	c.Normalize()
	require.NoError(t, customer.Upsert(context.Background(), acts.DB, c))
}

func TestJourneyActivitiesOnPostgres(t *testing.T) {
	t.Parallel()
	acts := &activities.Activities{DB: testenv.Postgres(t)}
	seed(t, acts)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(acts)

	// A branch on an attribute returns only the index of the case.
	v, err := env.ExecuteActivity(acts.EvaluateBranch, activities.BranchInput{CustomerID: "c-1", Attribute: "plan", Cases: []string{"basic", "plus"}})
	require.NoError(t, err)
	var br activities.BranchResult
	require.NoError(t, v.Get(&br))
	assert.Equal(t, 1, br.Case)

	// An unknown customer is not retried.
	_, err = env.ExecuteActivity(acts.EvaluateBranch, activities.BranchInput{CustomerID: "nobody", Attribute: "plan"})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, activities.ErrTypeCustomerNotFound, appErr.Type())
	assert.True(t, appErr.NonRetryable())

	// "next weekday 10:00" is 10:00 in the customer's own zone (New York):
	// from Friday 2026-11-20 12:00 UTC that is Monday 15:00 UTC.
	v, err = env.ExecuteActivity(acts.NextLocalTime, activities.LocalTimeInput{
		CustomerID: "c-1", Until: "next weekday 10:00", Now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	var at time.Time
	require.NoError(t, v.Get(&at))
	assert.Equal(t, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC), at.UTC())

	// A human call is recorded once, as pending, however often it is retried.
	in := activities.HumanCallInput{
		Planned: ledger.Planned{
			Key:     ledger.Key{WorkflowID: "journey:care:c-1", EntryID: "run-1", StepKey: "call#1"},
			Journey: "care", JourneyVersion: 1, CustomerID: "c-1", StepID: "call", Channel: channel.Voice, Intent: channel.Caring,
		},
		Reason: "wellness check-in", Deadline: 48 * time.Hour,
	}
	for i := 0; i < 2; i++ {
		v, err = env.ExecuteActivity(acts.RecordHumanCall, in)
		require.NoError(t, err)
		var res activities.DeliverResult
		require.NoError(t, v.Get(&res))
		assert.Equal(t, ledger.Blocked, res.Status)
		assert.Equal(t, activities.ReasonHumanCallPending, res.Reason)
	}
	touches, err := ledger.ForCustomer(context.Background(), acts.DB, "c-1")
	require.NoError(t, err)
	require.Len(t, touches, 1)
	assert.Equal(t, ledger.Blocked, touches[0].Status)
	assert.Equal(t, "human_call.pending", touches[0].Reason)
	assert.Empty(t, touches[0].ProviderID, "nothing was dialled")
}

// TestMissingAttributeFailsTheTouchNotTheCustomer: a template that names an
// attribute this customer lacks passes validation (other customers have it)
// but fails the touch at send time, for good, with the reason in the ledger;
// nothing half-filled reaches the outbox.
func TestMissingAttributeFailsTheTouchNotTheCustomer(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	acts := &activities.Activities{DB: pool, Senders: sandbox.Senders(pool)}
	seed(t, acts)
	tpl := journey.Template{Subject: "Your {{.Attributes.tier}} benefits", Body: "Hi {{.FirstName}}, as a {{.Attributes.tier}} member..."}
	require.NoError(t, journey.CheckTemplate(tpl))

	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	_, err := env.ExecuteActivity(acts.Deliver, activities.DeliverInput{
		Planned: ledger.Planned{
			Key:     ledger.Key{WorkflowID: "journey:tiers:c-1", EntryID: "run-1", StepKey: "benefits#1"},
			Journey: "tiers", JourneyVersion: 1, CustomerID: "c-1", StepID: "benefits", Channel: channel.Email, Intent: channel.Promotional,
		},
		Template: tpl,
	})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, activities.ErrTypeTemplate, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	touches, err := ledger.ForCustomer(context.Background(), pool, "c-1")
	require.NoError(t, err)
	require.Len(t, touches, 1)
	assert.Equal(t, ledger.Failed, touches[0].Status)
	assert.Equal(t, "template.render", touches[0].Reason)
	recs, err := sandbox.ForCustomer(context.Background(), pool, "c-1")
	require.NoError(t, err)
	assert.Empty(t, recs)
}
