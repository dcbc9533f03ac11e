package calltask_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/testenv"
)

func seed(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	c := customer.Customer{ID: "c-1", Name: "Ada Lovelace", Phone: "+447700900001", TimeZone: "Europe/London"}
	c.Normalize()
	require.NoError(t, customer.Upsert(context.Background(), pool, c))
}

func newTask(step string) calltask.NewTask {
	return calltask.NewTask{
		WorkflowID: "calltask:journey:wellness:c-1:" + step, JourneyWorkflowID: "journey:wellness:c-1",
		EntryID: "run-1", StepKey: step, CustomerID: "c-1", Journey: "wellness", JourneyVersion: 1,
		StepID: "check-in-call", Reason: "check-in", TalkingPoints: "Ask how it went.",
		DueAt: time.Now().Add(48 * time.Hour),
	}
}

func TestOpenIsIdempotentPerJourneyStep(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	seed(t, pool)
	ctx := context.Background()
	a, err := calltask.Open(ctx, pool, newTask("check-in-call#1"))
	require.NoError(t, err)
	b, err := calltask.Open(ctx, pool, newTask("check-in-call#1"))
	require.NoError(t, err)
	assert.Equal(t, a.ID, b.ID, "a retried open returns the same task")
	assert.Equal(t, calltask.StatusOpen, b.Status)
	c, err := calltask.Open(ctx, pool, newTask("check-in-call#2"))
	require.NoError(t, err)
	assert.NotEqual(t, a.ID, c.ID)
}

func TestTwoAgentsRacingForOneTaskOnlyOneWins(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	seed(t, pool)
	ctx := context.Background()
	for round := range 20 {
		task, err := calltask.Open(ctx, pool, newTask(fmt.Sprintf("race#%d", round)))
		require.NoError(t, err)
		const agents = 6
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, agents)
		for i := range agents {
			wg.Go(func() {
				<-start
				_, errs[i] = calltask.Claim(ctx, pool, task.ID, fmt.Sprintf("agent-%d", i), time.Minute)
			})
		}
		close(start)
		wg.Wait()
		winners := 0
		for _, err := range errs {
			if err == nil {
				winners++
			} else {
				require.ErrorIs(t, err, calltask.ErrTaken)
			}
		}
		require.Equal(t, 1, winners, "round %d: exactly one agent holds the task", round)
		got, err := calltask.Get(ctx, pool, task.ID)
		require.NoError(t, err)
		assert.Equal(t, calltask.StatusClaimed, got.Status)
	}
}

func TestALapsedLeaseLetsAnotherAgentClaim(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	seed(t, pool)
	ctx := context.Background()
	task, err := calltask.Open(ctx, pool, newTask("lease#1"))
	require.NoError(t, err)
	_, err = calltask.Claim(ctx, pool, task.ID, "alice", 200*time.Millisecond)
	require.NoError(t, err)
	_, err = calltask.Claim(ctx, pool, task.ID, "bob", time.Minute)
	require.ErrorIs(t, err, calltask.ErrTaken, "alice's lease is live")

	time.Sleep(300 * time.Millisecond)
	got, err := calltask.Claim(ctx, pool, task.ID, "bob", time.Minute)
	require.NoError(t, err, "alice walked away; her lease lapsed")
	assert.Equal(t, "bob", got.ClaimedBy)
	assert.True(t, got.HeldBy("bob", time.Now()))

	_, err = calltask.Complete(ctx, pool, task.ID, "alice", calltask.Reached, "")
	require.ErrorIs(t, err, calltask.ErrNotHeld, "alice no longer holds the task")
	done, err := calltask.Complete(ctx, pool, task.ID, "bob", calltask.Voicemail, "left a message")
	require.NoError(t, err)
	assert.Equal(t, calltask.StatusCompleted, done.Status)
	assert.Equal(t, calltask.Voicemail, done.Outcome)
	assert.Equal(t, "left a message", done.Notes)

	again, err := calltask.Complete(ctx, pool, task.ID, "bob", calltask.Voicemail, "left a message")
	require.NoError(t, err, "a retried completion is harmless")
	assert.Equal(t, done.CompletedAt, again.CompletedAt)
	_, err = calltask.Complete(ctx, pool, task.ID, "bob", calltask.Reached, "")
	require.ErrorIs(t, err, calltask.ErrClosed)
	_, err = calltask.Claim(ctx, pool, task.ID, "carol", time.Minute)
	require.ErrorIs(t, err, calltask.ErrTaken)
}

func TestExpireKeepsAnOutcomeRecordedFirst(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	seed(t, pool)
	ctx := context.Background()
	open, err := calltask.Open(ctx, pool, newTask("expire#1"))
	require.NoError(t, err)
	exp, err := calltask.Expire(ctx, pool, open.ID)
	require.NoError(t, err)
	assert.Equal(t, calltask.StatusExpired, exp.Status)
	_, err = calltask.Claim(ctx, pool, open.ID, "alice", time.Minute)
	require.ErrorIs(t, err, calltask.ErrTaken, "no one claims an expired task")

	done, err := calltask.Open(ctx, pool, newTask("expire#2"))
	require.NoError(t, err)
	_, err = calltask.Claim(ctx, pool, done.ID, "alice", time.Minute)
	require.NoError(t, err)
	_, err = calltask.Complete(ctx, pool, done.ID, "alice", calltask.Reached, "")
	require.NoError(t, err)
	kept, err := calltask.Expire(ctx, pool, done.ID)
	require.NoError(t, err)
	assert.Equal(t, calltask.StatusCompleted, kept.Status)
	assert.Equal(t, calltask.Reached, kept.Outcome)

	_, err = calltask.Get(ctx, pool, 999999)
	require.ErrorIs(t, err, calltask.ErrNotFound)
	_, err = calltask.Claim(ctx, pool, 999999, "alice", time.Minute)
	require.ErrorIs(t, err, calltask.ErrNotFound)
}

// BenchmarkClaim measures one claim (the desk's hot write) against Postgres.
func BenchmarkClaim(b *testing.B) {
	pool := testenv.Postgres(b)
	seed(b, pool)
	ctx := context.Background()
	const n = 200
	ids := make([]int64, n)
	for i := range ids {
		task, err := calltask.Open(ctx, pool, newTask(fmt.Sprintf("bench#%d", i)))
		require.NoError(b, err)
		ids[i] = task.ID
	}
	i := 0
	for b.Loop() {
		if _, err := calltask.Claim(ctx, pool, ids[i%n], "alice", time.Minute); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkQueue measures listing 200 open tasks, soonest due first.
func BenchmarkQueue(b *testing.B) {
	pool := testenv.Postgres(b)
	seed(b, pool)
	ctx := context.Background()
	for i := range 200 {
		_, err := calltask.Open(ctx, pool, newTask(fmt.Sprintf("queue#%d", i)))
		require.NoError(b, err)
	}
	for b.Loop() {
		tasks, err := calltask.List(ctx, pool, calltask.StatusOpen, calltask.StatusClaimed)
		if err != nil || len(tasks) != 200 {
			b.Fatal(err, len(tasks))
		}
	}
}
