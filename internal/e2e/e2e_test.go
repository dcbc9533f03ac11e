// Package e2e runs journeys end to end on a real Temporal dev server and a
// real Postgres: the worker wiring of production, sandbox delivery, and the
// failures a production worker meets (being stopped mid-journey, dying
// mid-send).
package e2e

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/workerapp"
	"github.com/outreach-engine/outreach/workflows"
)

func seedCustomer(t *testing.T, pool *pgxpool.Pool, id string, consents map[channel.Name]bool) {
	t.Helper()
	c := customer.Customer{
		ID: id, Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+447700900001",
		Address:  &customer.Address{Line1: "1 Example Street", City: "London", PostalCode: "N1", Country: "GB"},
		TimeZone: "Europe/London", Consents: consents,
	}
	c.Normalize()
	require.NoError(t, c.Validate())
	require.NoError(t, customer.Upsert(context.Background(), pool, c))
}

func allConsents() map[channel.Name]bool {
	return map[channel.Name]bool{channel.Email: true, channel.SMS: true, channel.Voice: true, channel.Mail: true}
}

func startWorkers(t *testing.T, c client.Client, acts *activities.Activities) *workerapp.Workers {
	t.Helper()
	ws := workerapp.New(c, acts, time.Second)
	require.NoError(t, ws.Start())
	var once sync.Once
	t.Cleanup(func() { once.Do(ws.Stop) })
	return ws
}

func outboxCount(t *testing.T, pool *pgxpool.Pool, customerID string) int {
	t.Helper()
	recs, err := sandbox.ForCustomer(context.Background(), pool, customerID)
	require.NoError(t, err)
	return len(recs)
}

func TestWelcomeJourneyEndToEnd(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	ctx := context.Background()
	seedCustomer(t, pool, "c-1", map[channel.Name]bool{channel.Email: true, channel.Mail: true})
	startWorkers(t, c, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool)})

	def := journey.Welcome(100*time.Millisecond, 100*time.Millisecond)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WorkflowID(def.Name, "c-1"), TaskQueue: workflows.TaskQueue,
	}, workflows.Journey, workflows.JourneyInput{CustomerID: "c-1", Journey: def})
	require.NoError(t, err)
	var res workflows.JourneyResult
	require.NoError(t, run.Get(ctx, &res))

	// The customer consented to email and mail only: the SMS is blocked with
	// the consent rule named, the other two are in the sandbox outbox.
	assert.Equal(t, 2, res.Count(ledger.Sent))
	assert.Equal(t, 1, res.Count(ledger.Blocked))
	touches, err := ledger.ForCustomer(ctx, pool, "c-1")
	require.NoError(t, err)
	require.Len(t, touches, 3)
	assert.Equal(t, ledger.Blocked, touches[1].Status)
	assert.Equal(t, "consent.sms", touches[1].Reason)
	recs, err := sandbox.ForCustomer(ctx, pool, "c-1")
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, "ada@example.com", recs[0].Recipient)
	assert.Equal(t, "Welcome aboard, Ada", recs[0].Subject)
	assert.Contains(t, recs[1].Body, "See you soon in London")
}

// crashAfterAccept delivers through the real sandbox, then behaves like a
// worker that dies before it can report: it never returns the receipt. The
// provider (the outbox) has the message; Temporal does not know.
type crashAfterAccept struct {
	inner    channel.Sender
	accepted chan struct{}
	once     sync.Once
}

func (s *crashAfterAccept) Send(ctx context.Context, msg channel.Message) (channel.Receipt, error) {
	if _, err := s.inner.Send(ctx, msg); err != nil {
		return channel.Receipt{}, err
	}
	s.once.Do(func() { close(s.accepted) })
	select {
	case <-ctx.Done():
	case <-activity.GetWorkerStopChannel(ctx):
	}
	return channel.Receipt{}, errors.New("worker died after the provider accepted the message")
}

// TestWorkerCrashesLoseAndDuplicateNothing stops the worker between two
// touches and kills the next one during a send, after the provider accepted
// the message. A third worker finishes the journey: every step has exactly one
// ledger row and the customer got exactly one message per step.
func TestWorkerCrashesLoseAndDuplicateNothing(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	ctx := context.Background()
	seedCustomer(t, pool, "c-crash", allConsents())

	def := journey.Welcome(2*time.Second, 500*time.Millisecond)
	id := workflows.WorkflowID(def.Name, "c-crash")

	// Worker 1 sends the welcome email, then is stopped while the journey
	// waits before the text message.
	w1 := startWorkers(t, c, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool)})
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.Journey, workflows.JourneyInput{CustomerID: "c-crash", Journey: def})
	require.NoError(t, err)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		touches, err := ledger.ForWorkflow(ctx, pool, id)
		require.NoError(ct, err)
		require.Len(ct, touches, 1)
		assert.Equal(ct, ledger.Sent, touches[0].Status)
	}, 20*time.Second, 50*time.Millisecond)
	w1.Stop()

	// Worker 2 picks the journey up after the timer and dies in the middle
	// of the SMS send, after the provider accepted it.
	crashing := sandbox.Senders(pool)
	sms := &crashAfterAccept{inner: crashing[channel.SMS], accepted: make(chan struct{})}
	crashing[channel.SMS] = sms
	w2 := startWorkers(t, c, &activities.Activities{DB: pool, Senders: crashing})
	select {
	case <-sms.accepted:
	case <-time.After(30 * time.Second):
		t.Fatal("the SMS was never handed to the provider")
	}
	w2.Stop()
	assert.Equal(t, 2, outboxCount(t, pool, "c-crash"), "the SMS reached the provider before the crash")

	// Worker 3 retries the SMS and finishes the journey.
	startWorkers(t, c, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool)})
	var res workflows.JourneyResult
	require.NoError(t, run.Get(ctx, &res))
	assert.Equal(t, 3, res.Count(ledger.Sent))

	touches, err := ledger.ForWorkflow(ctx, pool, id)
	require.NoError(t, err)
	require.Len(t, touches, 3, "exactly one ledger row per send step")
	steps := map[string]ledger.Touch{}
	for _, tc := range touches {
		assert.Equal(t, ledger.Sent, tc.Status, "step %s", tc.StepID)
		steps[tc.StepID] = tc
	}
	assert.Len(t, steps, 3)
	assert.GreaterOrEqual(t, steps["tips-sms"].Attempts, 2, "the SMS send was retried")
	assert.Equal(t, 3, outboxCount(t, pool, "c-crash"), "the retried SMS was not sent a second time")
}

// TestDeliverIsIdempotent runs the Deliver activity for the same touch twice,
// as Temporal may: one ledger row, one message.
func TestDeliverIsIdempotent(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	seedCustomer(t, pool, "c-idem", allConsents())
	acts := &activities.Activities{DB: pool, Senders: sandbox.Senders(pool)}
	def := journey.Welcome(time.Hour, time.Hour)
	in := activities.DeliverInput{
		Planned: ledger.Planned{
			Key:     ledger.Key{WorkflowID: "journey:welcome:c-idem", EntryID: "run-1", StepKey: "welcome-email#1"},
			Journey: def.Name, JourneyVersion: def.Version, CustomerID: "c-idem",
			StepID: "welcome-email", Channel: channel.Email, Intent: channel.Transactional,
		},
		Template: def.Templates["welcome"],
	}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	deliver := func(in activities.DeliverInput) activities.DeliverResult {
		t.Helper()
		v, err := env.ExecuteActivity(acts.Deliver, in)
		require.NoError(t, err)
		var res activities.DeliverResult
		require.NoError(t, v.Get(&res))
		return res
	}
	first, second := deliver(in), deliver(in)
	assert.Equal(t, first.TouchID, second.TouchID)
	assert.Equal(t, ledger.Sent, second.Status)
	assert.Equal(t, 1, outboxCount(t, pool, "c-idem"))

	// A deliberate re-entry (a new entry id) is a new touch.
	in.EntryID = "run-2"
	third := deliver(in)
	assert.NotEqual(t, first.TouchID, third.TouchID)
	assert.Equal(t, 2, outboxCount(t, pool, "c-idem"))
}
