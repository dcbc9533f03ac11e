package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/throttle"
	"github.com/outreach-engine/outreach/internal/workerapp"
	"github.com/outreach-engine/outreach/workflows"
)

func oneSend(name string, ch channel.Name, in channel.Intent, maxDefer time.Duration) journey.Definition {
	return journey.Definition{
		Name: name, Version: 1,
		Steps:     []journey.Step{{ID: "send", Kind: journey.StepSend, Channel: ch, Intent: in, Template: "t", MaxDefer: maxDefer}},
		Templates: map[string]journey.Template{"t": {Subject: "Hello", Body: "Hello {{.FirstName}}"}},
	}
}

func seedIn(t *testing.T, pool *pgxpool.Pool, id, zone string) {
	t.Helper()
	c := customer.Customer{
		ID: id, Name: "Grace Hopper", Email: "grace@example.com", Phone: "+12025550123",
		Address:  &customer.Address{Line1: "1 Example Avenue", City: "New York", PostalCode: "10001", Country: "US"},
		TimeZone: zone, Consents: allConsents(),
	}
	c.Normalize()
	require.NoError(t, c.Validate())
	require.NoError(t, customer.Upsert(context.Background(), pool, c))
}

func throttlePolicy(t *testing.T, doc string) *throttle.Policy {
	t.Helper()
	p, err := throttle.Parse([]byte(doc))
	require.NoError(t, err)
	return p
}

// Fifty journeys for one customer start at once on two workers, each
// wanting to send right away on a mix of channels, at 21:30 in the
// customer's time zone. The ledger ends with exactly the touches the caps
// allow, none on a quiet channel, and every other touch deferred with the
// rule that holds it.
func TestFiftyJourneysOneCustomerTwoWorkers(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	ctx := context.Background()
	seedIn(t, pool, "c-busy", "America/New_York")
	p := throttlePolicy(t, `
caps:
  - {id: all_7d, max: 4, window: 7d}
  - {id: email_7d, max: 3, window: 7d, channels: [email]}
quiet_hours:
  sms:   {start: "21:00", end: "08:00"}
  voice: {start: "21:00", end: "08:00"}
intents:
  caring:      {max_defer: 30d}
  promotional: {max_defer: 30d}
`)
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	evening := time.Date(2026, 6, 10, 21, 30, 0, 0, ny)
	clock := func() time.Time { return evening }
	for range 2 {
		startWorkers(t, c, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool), Throttle: p, Now: clock})
	}

	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			ch := channel.All[i%len(channel.All)]
			in := []channel.Intent{channel.Caring, channel.Promotional}[i%2]
			if ch == channel.Voice {
				in = channel.Promotional // caring never goes out as an automated call
			}
			def := oneSend(fmt.Sprintf("burst-%02d", i), ch, in, 0)
			_, errs[i] = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: workflows.WorkflowID(def.Name, "c-busy"), TaskQueue: workflows.TaskQueue,
			}, workflows.Journey, workflows.JourneyInput{CustomerID: "c-busy", Journey: def})
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))

	var rows []ledger.Touch
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		rows, err = ledger.ForCustomer(ctx, pool, "c-busy")
		require.NoError(c, err)
		settled := 0
		for _, r := range rows {
			if r.Status == ledger.Sent || r.Status == ledger.Deferred {
				settled++
			}
		}
		assert.Equal(c, n, settled, "touches: %v", statuses(rows))
	}, time.Minute, 200*time.Millisecond)

	sent := map[channel.Name]int{}
	deferred := 0
	for _, r := range rows {
		switch r.Status {
		case ledger.Sent:
			sent[r.Channel]++
		case ledger.Deferred:
			deferred++
			want := []string{"throttle.cap.all_7d"}
			switch r.Channel {
			case channel.Email:
				want = append(want, "throttle.cap.email_7d")
			case channel.SMS, channel.Voice:
				want = append(want, "throttle.quiet_hours."+string(r.Channel))
			}
			assert.Contains(t, want, r.Reason, "touch %d on %s", r.ID, r.Channel)
		}
	}
	total := sent[channel.Email] + sent[channel.Mail] + sent[channel.SMS] + sent[channel.Voice]
	assert.Equal(t, 4, total, "exactly the 4 touches the 7-day cap allows: %v", sent)
	assert.LessOrEqual(t, sent[channel.Email], 3, "the email cap holds")
	assert.Zero(t, sent[channel.SMS]+sent[channel.Voice], "no text or call at 21:30 local")
	assert.Equal(t, n-4, deferred)
	assert.Equal(t, 4, outboxCount(t, pool, "c-busy"), "the sandbox received exactly the allowed touches")

	// Every deferral is recorded with its reason and a time every rule
	// allows: never inside the quiet hours, never before the cap has room.
	ds, err := throttle.Decisions(ctx, pool, "c-busy")
	require.NoError(t, err)
	channelOf := map[int64]channel.Name{}
	for _, r := range rows {
		channelOf[r.ID] = r.Channel
	}
	byOutcome := map[throttle.Outcome]int{}
	for _, d := range ds {
		byOutcome[d.Outcome]++
		if d.Outcome != throttle.Deferred {
			continue
		}
		require.NotNil(t, d.NotBefore)
		assert.NotEmpty(t, d.Reason)
		assert.True(t, d.NotBefore.After(evening), d.Reason)
		if ch := channelOf[d.TouchID]; ch != channel.SMS && ch != channel.Voice {
			continue
		}
		if h := d.NotBefore.In(ny).Hour(); h < 8 || h >= 21 {
			t.Errorf("deferred into quiet hours: %s (%s)", d.NotBefore.In(ny), d.Reason)
		}
	}
	assert.Equal(t, map[throttle.Outcome]int{throttle.Allowed: 4, throttle.Deferred: n - 4}, byOutcome)
}

// A deferred touch waits in the workflow (a durable timer) and asks again:
// three journeys wanting to email one customer at once go out one after
// another, the minimum gap apart. A step that cannot wait that long expires.
func TestDeferredTouchWaitsAndAsksAgain(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	ctx := context.Background()
	seedIn(t, pool, "c-wait", "Europe/Berlin")
	p := throttlePolicy(t, `
min_gap: 3s
intents: {promotional: {max_defer: 1m}}
`)
	startWorkers(t, c, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool), Throttle: p})

	// Started together, well within the gap of each other.
	runs := make([]client.WorkflowRun, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() {
			def := oneSend(fmt.Sprintf("gap-%d", i), channel.Email, channel.Promotional, 0)
			runs[i], errs[i] = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: workflows.WorkflowID(def.Name, "c-wait"), TaskQueue: workflows.TaskQueue,
			}, workflows.Journey, workflows.JourneyInput{CustomerID: "c-wait", Journey: def})
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	for _, run := range runs {
		var res workflows.JourneyResult
		require.NoError(t, run.Get(ctx, &res))
		assert.Equal(t, 1, res.Count(ledger.Sent))
	}
	rows, err := ledger.ForCustomer(ctx, pool, "c-wait")
	require.NoError(t, err)
	require.Len(t, rows, 3)
	for _, r := range rows {
		require.Equal(t, ledger.Sent, r.Status)
	}
	ds, err := throttle.Decisions(ctx, pool, "c-wait")
	require.NoError(t, err)
	var allowedAt []time.Time
	waited := 0
	for _, d := range ds {
		switch d.Outcome {
		case throttle.Deferred:
			waited++
			assert.Equal(t, "throttle.min_gap", d.Rule)
		case throttle.Allowed:
			allowedAt = append(allowedAt, d.DecidedAt)
		}
	}
	assert.GreaterOrEqual(t, waited, 2, "two of the three had to wait")
	require.Len(t, allowedAt, 3)
	sortTimes(allowedAt)
	for i := 1; i < len(allowedAt); i++ {
		assert.GreaterOrEqual(t, allowedAt[i].Sub(allowedAt[i-1]), 3*time.Second, "touches keep the minimum gap")
	}

	// A promotion that is not worth waiting for expires: asked right after
	// the last send, it would have to wait for the gap.
	def := oneSend("stale", channel.Email, channel.Promotional, time.Millisecond)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WorkflowID(def.Name, "c-wait"), TaskQueue: workflows.TaskQueue,
	}, workflows.Journey, workflows.JourneyInput{CustomerID: "c-wait", Journey: def})
	require.NoError(t, err)
	var res workflows.JourneyResult
	require.NoError(t, run.Get(ctx, &res))
	require.Len(t, res.Steps, 1)
	assert.Equal(t, ledger.Expired, res.Steps[0].Status)
	assert.Equal(t, "throttle.min_gap", res.Steps[0].Reason)
}

func sortTimes(ts []time.Time) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Before(ts[j-1]); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// rateLimitedOnce answers the first send with the provider's "429, retry
// after 2s".
type rateLimitedOnce struct {
	inner channel.Sender
	calls atomic.Int32
	first atomic.Int64
	next  atomic.Int64
}

func (s *rateLimitedOnce) Send(ctx context.Context, msg channel.Message) (channel.Receipt, error) {
	if s.calls.Add(1) == 1 {
		s.first.Store(time.Now().UnixNano())
		return channel.Receipt{}, &channel.ProviderError{Provider: "test", Kind: channel.RateLimited, Status: 429,
			Reason: "provider.rate_limited", RetryAfter: 2 * time.Second}
	}
	s.next.Store(time.Now().UnixNano())
	return s.inner.Send(ctx, msg)
}

// A provider's 429 with Retry-After is honoured: the send is tried again
// after the delay the provider asked for, not the retry policy's 1s.
func TestProviderRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	ctx := context.Background()
	seedIn(t, pool, "c-429", "UTC")
	senders := sandbox.Senders(pool)
	limited := &rateLimitedOnce{inner: senders[channel.Email]}
	senders[channel.Email] = limited
	startWorkers(t, c, &activities.Activities{DB: pool, Senders: senders, Throttle: throttlePolicy(t, "{}")})

	def := oneSend("limited", channel.Email, channel.Transactional, 0)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WorkflowID(def.Name, "c-429"), TaskQueue: workflows.TaskQueue,
	}, workflows.Journey, workflows.JourneyInput{CustomerID: "c-429", Journey: def})
	require.NoError(t, err)
	var res workflows.JourneyResult
	require.NoError(t, run.Get(ctx, &res))
	assert.Equal(t, 1, res.Count(ledger.Sent))
	assert.Equal(t, int32(2), limited.calls.Load())
	gap := time.Duration(limited.next.Load() - limited.first.Load())
	assert.GreaterOrEqual(t, gap, 2*time.Second, "retried after the provider's Retry-After")
	assert.Equal(t, 1, outboxCount(t, pool, "c-429"))
}

// A channel's rate limit is the task queue's, enforced by the server for
// every worker: at one email per second, four emails take two seconds or
// more, even with two workers polling.
func TestDeliveryRateLimitHoldsAcrossWorkers(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	ctx := context.Background()
	seedIn(t, pool, "c-rate", "UTC")
	for range 2 {
		ws := workerapp.New(c, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool), Throttle: throttlePolicy(t, "{}")},
			time.Second, workerapp.WithDeliveryRates(map[channel.Name]float64{channel.Email: 1}))
		require.NoError(t, ws.Start())
		t.Cleanup(ws.Stop)
	}
	// The server learns a queue's rate from its pollers: wait until the
	// email queue has been polled with it (both workers share one identity).
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		d, err := c.DescribeTaskQueue(ctx, workflows.DeliveryQueue(channel.Email), enums.TASK_QUEUE_TYPE_ACTIVITY)
		require.NoError(ct, err)
		limited := 0
		for _, p := range d.GetPollers() {
			if p.GetRatePerSecond() == 1 {
				limited++
			}
		}
		assert.GreaterOrEqual(ct, limited, 1)
	}, 20*time.Second, 100*time.Millisecond)
	var runs []client.WorkflowRun
	for i := range 4 {
		def := oneSend(fmt.Sprintf("rate-%d", i), channel.Email, channel.Transactional, 0)
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: workflows.WorkflowID(def.Name, "c-rate"), TaskQueue: workflows.TaskQueue,
		}, workflows.Journey, workflows.JourneyInput{CustomerID: "c-rate", Journey: def})
		require.NoError(t, err)
		runs = append(runs, run)
	}
	for _, run := range runs {
		require.NoError(t, run.Get(ctx, nil))
	}
	rows, err := ledger.ForCustomer(ctx, pool, "c-rate")
	require.NoError(t, err)
	require.Len(t, rows, 4)
	var sent []time.Time
	for _, r := range rows {
		require.Equal(t, ledger.Sent, r.Status)
		sent = append(sent, *r.SentAt)
	}
	sortTimes(sent)
	// The server's limiter lets a burst of up to two through at once; the
	// rest wait a second each. Without the limit all four go within ~100ms.
	assert.GreaterOrEqual(t, sent[3].Sub(sent[0]), 1500*time.Millisecond, "four sends at one per second: %v", sent)
}

func statuses(rows []ledger.Touch) map[string]int {
	out := map[string]int{}
	for _, r := range rows {
		out[string(r.Channel)+"/"+string(r.Status)+"/"+r.Reason]++
	}
	return out
}
