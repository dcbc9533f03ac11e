package ledger_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/testenv"
)

func planned(step string) ledger.Planned {
	return ledger.Planned{
		Key:     ledger.Key{WorkflowID: "journey:welcome:c-1", EntryID: "run-1", StepKey: step + "#1"},
		Journey: "welcome", JourneyVersion: 1, CustomerID: "c-1", StepID: step,
		Channel: channel.Email, Intent: channel.Promotional,
	}
}

func TestLedgerStateMachine(t *testing.T) {
	pool := testenv.Postgres(t)
	ctx := context.Background()
	require.NoError(t, customer.Upsert(ctx, pool, customer.Customer{ID: "c-1", Name: "Ada", TimeZone: "UTC", AccountType: customer.AccountCustomer}))

	first, err := ledger.Reserve(ctx, pool, planned("a"))
	require.NoError(t, err)
	assert.Equal(t, ledger.Reserved, first.Status)
	assert.Equal(t, 1, first.Attempts)

	again, err := ledger.Reserve(ctx, pool, planned("a"))
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID, "a retry finds the same touch")
	assert.Equal(t, 2, again.Attempts)

	require.NoError(t, ledger.MarkSending(ctx, pool, first.ID))
	assert.ErrorIs(t, ledger.MarkBlocked(ctx, pool, first.ID, "consent.email"), ledger.ErrTransition,
		"a touch already handed to a provider cannot be blocked")
	require.NoError(t, ledger.MarkSent(ctx, pool, first.ID, "msg-1"))
	assert.ErrorIs(t, ledger.MarkSent(ctx, pool, first.ID, "msg-2"), ledger.ErrTransition, "sent is final")
	assert.ErrorIs(t, ledger.MarkFailed(ctx, pool, first.ID, "x"), ledger.ErrTransition, "sent is final")

	b, err := ledger.Reserve(ctx, pool, planned("b"))
	require.NoError(t, err)
	require.NoError(t, ledger.MarkBlocked(ctx, pool, b.ID, "consent.email"))
	assert.ErrorIs(t, ledger.MarkSending(ctx, pool, b.ID), ledger.ErrTransition, "blocked is final")

	touches, err := ledger.ForCustomer(ctx, pool, "c-1")
	require.NoError(t, err)
	require.Len(t, touches, 2)
	assert.Equal(t, ledger.Sent, touches[0].Status)
	assert.Equal(t, "msg-1", touches[0].ProviderID)
	assert.NotNil(t, touches[0].SentAt)
	assert.Equal(t, "consent.email", touches[1].Reason)

	counts, err := ledger.CountByStatus(ctx, pool, "welcome")
	require.NoError(t, err)
	assert.Equal(t, ledger.Counts{ledger.Sent: 1, ledger.Blocked: 1}, counts)
}
