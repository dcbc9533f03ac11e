package bulk_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/internal/audience"
	"github.com/outreach-engine/outreach/internal/bulk"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/workflows"
)

// loadCustomers copies n customers (and a few non-customer accounts) into the table.
func loadCustomers(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	rows := make([][]any, 0, n+3)
	for i := range n {
		rows = append(rows, []any{fmt.Sprintf("c-%05d", i), "Customer", "UTC", "customer"})
	}
	for _, acct := range []string{"internal", "subsidiary", "affiliate"} {
		rows = append(rows, []any{"x-" + acct, "Account", "UTC", acct})
	}
	_, err := pool.CopyFrom(context.Background(), pgx.Identifier{"customers"},
		[]string{"id", "name", "time_zone", "account_type"}, pgx.CopyFromRows(rows))
	require.NoError(t, err)
}

// journeyIDs lists every journey execution of the journey, closed or running.
func journeyIDs(t *testing.T, c client.Client, name string) []string {
	t.Helper()
	var ids []string
	var token []byte
	for {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query:         fmt.Sprintf(`WorkflowId STARTS_WITH "journey:%s:"`, name),
			PageSize:      1000,
			NextPageToken: token,
		})
		require.NoError(t, err)
		for _, e := range resp.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return ids
		}
	}
}

// An interrupted bulk start, run again, ends with exactly one journey per
// customer: the re-run starts only the missing ones and counts the others as
// already there. No worker runs: the journeys only need to exist.
func TestInterruptedBulkStartRerunGivesOneJourneyPerCustomer(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	const n = 300
	loadCustomers(t, pool, n)
	aud, err := audience.All(context.Background(), pool)
	require.NoError(t, err)
	require.Len(t, aud.IDs, n, "non-customer accounts are not in the audience")

	def := journey.Welcome(time.Hour, time.Hour)
	starter := bulk.JourneyStarter{Client: c, Journey: def.Name, Input: func(id string) workflows.JourneyInput {
		return workflows.JourneyInput{CustomerID: id, Journey: def}
	}}

	// First run: interrupted (as by Ctrl-C) after 100 starts.
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int32
	first := bulk.Run(ctx, aud.IDs, bulk.Options{Parallel: 8}, func(cctx context.Context, id string) (bulk.Outcome, error) {
		out, err := starter.Start(cctx, id)
		if started.Add(1) == 100 {
			cancel()
		}
		return out, err
	})
	cancel()
	require.True(t, first.Interrupted)
	assert.Zero(t, first.Failed())
	assert.GreaterOrEqual(t, first.Done, 100)
	assert.Less(t, first.Done, n, "the interrupt stopped the run before the end")
	assert.Equal(t, n, first.Done+first.NotDispatched)

	// Second run: only the missing ones are started.
	second := bulk.Run(context.Background(), aud.IDs, bulk.Options{Parallel: 8}, starter.Start)
	assert.False(t, second.Interrupted)
	assert.Zero(t, second.Failed())
	assert.Equal(t, n-first.Done, second.Done)
	assert.Equal(t, first.Done, second.Skipped, "journeys started by the first run are already there")

	// A third run finds everything there.
	third := bulk.Run(context.Background(), aud.IDs, bulk.Options{}, starter.Start)
	assert.Equal(t, n, third.Skipped)
	assert.Zero(t, third.Done)

	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		ids := journeyIDs(t, c, def.Name)
		require.Len(ct, ids, n, "exactly one execution per customer")
		seen := map[string]bool{}
		for _, id := range ids {
			assert.False(ct, seen[id], "duplicate journey %s", id)
			seen[id] = true
		}
		for _, id := range aud.IDs {
			assert.True(ct, seen[workflows.WorkflowID(def.Name, id)], "customer %s has no journey", id)
		}
	}, 30*time.Second, 500*time.Millisecond)
}

func TestCancelStopsRunningJourneysAndSkipsMissingOnes(t *testing.T) {
	t.Parallel()
	c := testenv.Temporal(t)
	ctx := context.Background()
	def := journey.Welcome(time.Hour, time.Hour)
	starter := bulk.JourneyStarter{Client: c, Journey: def.Name, Input: func(id string) workflows.JourneyInput {
		return workflows.JourneyInput{CustomerID: id, Journey: def}
	}}
	res := bulk.Run(ctx, []string{"c-1", "c-2"}, bulk.Options{}, starter.Start)
	require.Equal(t, 2, res.Done)

	canceller := bulk.JourneyCanceller{Client: c, Journey: def.Name}
	res = bulk.Run(ctx, []string{"c-1", "c-2", "c-3"}, bulk.Options{}, canceller.Cancel)
	assert.Equal(t, 2, res.Done)
	assert.Equal(t, 1, res.Skipped, "c-3 has no journey")
	assert.Zero(t, res.Failed())
	// Without a worker the journey ends at its next workflow task; the
	// request is already in its history.
	for _, id := range []string{"c-1", "c-2"} {
		it := c.GetWorkflowHistory(ctx, workflows.WorkflowID(def.Name, id), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		requested := false
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			requested = requested || ev.GetEventType() == enums.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED
		}
		assert.True(t, requested, "journey of %s was asked to cancel", id)
	}
}
