package policydb_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/policy"
	"github.com/outreach-engine/outreach/internal/policy/policydb"
	"github.com/outreach-engine/outreach/internal/testenv"
)

// A touch is decided once: a second decision for the same touch (a retry
// after the customer's data changed) gets the first one back, and the ledger
// row keeps the first decision's channel.
func TestFirstDecisionWins(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	ctx := context.Background()
	c := customer.Customer{ID: "c-1", Name: "Sam Okafor", Email: "sam@example.com", TimeZone: "Europe/London",
		Consents: map[channel.Name]bool{channel.SMS: true, channel.Email: true}}
	c.Normalize()
	require.NoError(t, customer.Upsert(ctx, pool, c))
	touch, err := ledger.Reserve(ctx, pool, ledger.Planned{
		Key: ledger.Key{WorkflowID: "w", EntryID: "e", StepKey: "s#1"}, Journey: "j", JourneyVersion: 1,
		CustomerID: "c-1", StepID: "s", Channel: channel.SMS, Intent: channel.Promotional,
	})
	require.NoError(t, err)

	planned := policy.Plan(channel.SMS, channel.Promotional, journey.Template{Body: "x"})
	moved := planned
	moved.Channel, moved.Surface = channel.Email, policy.SurfaceEmail
	first := policy.Decision{Outcome: policy.Change, RuleID: policy.RuleSensitive, Reason: "moved", Planned: planned, Final: moved}
	got, err := policydb.Record(ctx, pool, touch.ID, first)
	require.NoError(t, err)
	assert.Equal(t, policy.Change, got.Outcome)

	second := policy.Decision{Outcome: policy.Block, RuleID: "consent.sms", Reason: "opted out", Planned: planned, Final: planned}
	got, err = policydb.Record(ctx, pool, touch.ID, second)
	require.NoError(t, err)
	assert.Equal(t, policy.Change, got.Outcome)
	assert.Equal(t, channel.Email, got.Final.Channel)

	rows, err := ledger.ForWorkflow(ctx, pool, "w")
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, ledger.Reserved, rows[0].Status, "the second decision did not block the touch")
	assert.Equal(t, channel.Email, rows[0].Channel)
	assert.Equal(t, policy.RuleSensitive, rows[0].Reason)
}
