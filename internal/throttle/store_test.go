package throttle_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/throttle"
)

func seed(t *testing.T, pool *pgxpool.Pool, id, zone string) {
	t.Helper()
	_, err := pool.Exec(context.Background(),
		`insert into customers (id, name, time_zone) values ($1, 'Test Customer', $2)`, id, zone)
	require.NoError(t, err)
}

func reserve(t *testing.T, pool *pgxpool.Pool, customerID, step string, ch channel.Name, in channel.Intent) ledger.Touch {
	t.Helper()
	tc, err := ledger.Reserve(context.Background(), pool, ledger.Planned{
		Key:     ledger.Key{WorkflowID: "journey:test:" + customerID, EntryID: "e1", StepKey: step},
		Journey: "test", JourneyVersion: 1, CustomerID: customerID, StepID: step, Channel: ch, Intent: in,
	})
	require.NoError(t, err)
	return tc
}

func decide(t *testing.T, pool *pgxpool.Pool, p *throttle.Policy, c throttle.Check) throttle.Result {
	t.Helper()
	var res throttle.Result
	require.NoError(t, pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		var err error
		res, err = throttle.CheckAndReserve(context.Background(), tx, p, c)
		return err
	}))
	return res
}

const capPolicy = `
caps: [{id: all_7d, max: 3, window: 7d}]
quiet_hours: {sms: {start: "21:00", end: "08:00"}}
intents: {promotional: {max_defer: 30d}}
`

// Many workers deciding for one customer at the same instant: exactly the cap
// is allowed, the rest deferred, whatever the interleaving.
func TestCheckAndReserveHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	p, err := throttle.Parse([]byte(capPolicy))
	require.NoError(t, err)
	seed(t, pool, "c-1", "Europe/Paris")
	now := time.Date(2026, 6, 10, 10, 0, 0, 0, time.UTC)

	const n = 40
	touches := make([]ledger.Touch, n)
	for i := range touches {
		touches[i] = reserve(t, pool, "c-1", fmt.Sprintf("s%d", i), channel.Email, channel.Promotional)
	}
	results := make([]throttle.Result, n)
	var wg sync.WaitGroup
	for i := range touches {
		wg.Go(func() {
			results[i] = decide(t, pool, p, throttle.Check{
				TouchID: touches[i].ID, CustomerID: "c-1", TimeZone: "Europe/Paris",
				Channel: channel.Email, Intent: channel.Promotional, At: now,
			})
		})
	}
	wg.Wait()
	outcomes := map[throttle.Outcome]int{}
	for _, r := range results {
		outcomes[r.Outcome]++
		if r.Outcome == throttle.Deferred {
			assert.Equal(t, "throttle.cap.all_7d", r.Rule)
			assert.Equal(t, now.Add(7*24*time.Hour), r.NotBefore.UTC())
		}
	}
	assert.Equal(t, map[throttle.Outcome]int{throttle.Allowed: 3, throttle.Deferred: n - 3}, outcomes)

	rows, err := ledger.ForCustomer(context.Background(), pool, "c-1")
	require.NoError(t, err)
	status := map[ledger.Status]int{}
	for _, r := range rows {
		status[r.Status]++
	}
	assert.Equal(t, map[ledger.Status]int{ledger.Reserved: 3, ledger.Deferred: n - 3}, status)
	ds, err := throttle.Decisions(context.Background(), pool, "c-1")
	require.NoError(t, err)
	assert.Len(t, ds, n, "every decision is recorded")

	// A send that fails for good releases its reservation: the next
	// touch asking gets the slot.
	var allowed, waiting ledger.Touch
	for i, r := range results {
		if r.Outcome == throttle.Allowed {
			allowed = touches[i]
		} else {
			waiting = touches[i]
		}
	}
	require.NoError(t, ledger.MarkFailed(context.Background(), pool, allowed.ID, "send.failed"))
	reserve(t, pool, "c-1", waiting.StepID, channel.Email, channel.Promotional)
	later := decide(t, pool, p, throttle.Check{TouchID: waiting.ID, CustomerID: "c-1", TimeZone: "Europe/Paris",
		Channel: channel.Email, Intent: channel.Promotional, At: now.Add(time.Minute)})
	assert.Equal(t, throttle.Allowed, later.Outcome, later.Reason)
}

func TestCheckAndReserveLifecycle(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	ctx := context.Background()
	p, err := throttle.Parse([]byte(capPolicy))
	require.NoError(t, err)
	seed(t, pool, "c-2", "Mars/Olympus")
	// 22:00 UTC: the invalid zone falls back to UTC, where texts are quiet.
	night := time.Date(2026, 6, 10, 22, 0, 0, 0, time.UTC)

	sms := reserve(t, pool, "c-2", "sms#1", channel.SMS, channel.Promotional)
	check := throttle.Check{TouchID: sms.ID, CustomerID: "c-2", TimeZone: "Mars/Olympus",
		Channel: channel.SMS, Intent: channel.Promotional, At: night, MaxDefer: 12 * time.Hour}
	res := decide(t, pool, p, check)
	require.Equal(t, throttle.Deferred, res.Outcome)
	assert.Equal(t, time.Date(2026, 6, 11, 8, 0, 0, 0, time.UTC), res.NotBefore.UTC())
	assert.Equal(t, night.Add(12*time.Hour), res.Deadline.UTC(), "the deadline counts from the first decision")
	assert.Contains(t, res.Reason, `time zone "Mars/Olympus" is invalid; used default UTC`)

	// The journey asks again at the deferral time: the ledger row goes
	// back to reserved, and this time the touch is allowed.
	again := reserve(t, pool, "c-2", "sms#1", channel.SMS, channel.Promotional)
	require.Equal(t, ledger.Reserved, again.Status)
	check.At = res.NotBefore
	res2 := decide(t, pool, p, check)
	require.Equal(t, throttle.Allowed, res2.Outcome)
	assert.Equal(t, res.Deadline, res2.Deadline, "a deferral does not move the deadline")

	// A retried activity gets the same answer without a second reservation.
	res3 := decide(t, pool, p, check)
	assert.Equal(t, throttle.Allowed, res3.Outcome)
	ds, err := throttle.Decisions(ctx, pool, "c-2")
	require.NoError(t, err)
	require.Len(t, ds, 2)
	assert.Equal(t, "throttle.quiet_hours.sms", ds[0].Rule)
	assert.Contains(t, ds[1].Reason, "used default UTC", "an allowed decision also says which zone it used")
	row, err := ledger.ForCustomer(ctx, pool, "c-2")
	require.NoError(t, err)
	assert.Equal(t, "throttle.time_zone_default", row[0].Reason)

	// A second text the same night cannot wait until the morning: it expires.
	late := reserve(t, pool, "c-2", "sms#2", channel.SMS, channel.Promotional)
	res4 := decide(t, pool, p, throttle.Check{TouchID: late.ID, CustomerID: "c-2", TimeZone: "Mars/Olympus",
		Channel: channel.SMS, Intent: channel.Promotional, At: night, MaxDefer: time.Hour})
	require.Equal(t, throttle.Expired, res4.Outcome)
	assert.Equal(t, "throttle.quiet_hours.sms", res4.Rule)
	rows, err := ledger.ForWorkflow(ctx, pool, "journey:test:c-2")
	require.NoError(t, err)
	assert.Equal(t, ledger.Expired, rows[1].Status)
	assert.Equal(t, "throttle.quiet_hours.sms", rows[1].Reason)
	_, err = ledger.Reserve(ctx, pool, ledger.Planned{Key: ledger.Key{WorkflowID: "journey:test:c-2", EntryID: "e1", StepKey: "sms#2"},
		Journey: "test", JourneyVersion: 1, CustomerID: "c-2", StepID: "sms#2", Channel: channel.SMS, Intent: channel.Promotional})
	require.NoError(t, err)
	rows, err = ledger.ForWorkflow(ctx, pool, "journey:test:c-2")
	require.NoError(t, err)
	assert.Equal(t, ledger.Expired, rows[1].Status, "an expired touch stays expired")
}

// A reminder and an offer both wait for the end of the quiet hours; when the
// offer's journey happens to ask first, it still yields to the reminder.
func TestCheckAndReserveHigherPriorityGoesFirst(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	p, err := throttle.Parse([]byte(`
caps: [{id: sms_day, max: 1, per: local_day, channels: [sms]}]
quiet_hours: {sms: {start: "21:00", end: "08:00"}}
intents: {promotional: {max_defer: 3d}, transactional: {max_defer: 3d}}
`))
	require.NoError(t, err)
	seed(t, pool, "c-3", "Europe/Paris")
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	night, eight := time.Date(2026, 6, 10, 23, 0, 0, 0, paris), time.Date(2026, 6, 11, 8, 0, 0, 0, paris)

	offer := reserve(t, pool, "c-3", "offer#1", channel.SMS, channel.Promotional)
	reminder := reserve(t, pool, "c-3", "reminder#1", channel.SMS, channel.Transactional)
	ask := func(tc ledger.Touch, in channel.Intent, at time.Time) throttle.Result {
		reserve(t, pool, "c-3", tc.StepID, channel.SMS, in)
		return decide(t, pool, p, throttle.Check{TouchID: tc.ID, CustomerID: "c-3", TimeZone: "Europe/Paris",
			Channel: channel.SMS, Intent: in, At: at})
	}
	for _, r := range []throttle.Result{ask(offer, channel.Promotional, night), ask(reminder, channel.Transactional, night)} {
		require.Equal(t, throttle.Deferred, r.Outcome)
		require.True(t, eight.Equal(r.NotBefore), r.Reason)
	}
	first := ask(offer, channel.Promotional, eight.Add(time.Second))
	require.Equal(t, throttle.Deferred, first.Outcome)
	assert.Equal(t, "throttle.priority", first.Rule)
	assert.True(t, eight.Add(time.Minute).Equal(first.NotBefore), first.Reason)

	assert.Equal(t, throttle.Allowed, ask(reminder, channel.Transactional, eight.Add(2*time.Second)).Outcome)
	// The reminder took the day's only text: the offer waits for tomorrow.
	next := ask(offer, channel.Promotional, first.NotBefore)
	require.Equal(t, throttle.Deferred, next.Outcome)
	assert.Equal(t, "throttle.cap.sms_day", next.Rule)
}

// BenchmarkCheckAndReserve is one decision transaction against a real
// Postgres, on customers with a few touches each (`make bench` runs the
// concurrent loads next to pgbench).
func BenchmarkCheckAndReserve(b *testing.B) {
	pool := testenv.Postgres(b)
	ctx := context.Background()
	p := throttle.Default()
	const customers = 100
	_, err := pool.Exec(ctx, `insert into customers (id, name, time_zone)
		select 'c' || i, 'Bench Customer', 'Europe/Paris' from generate_series(0, $1 - 1) i`, customers)
	require.NoError(b, err)
	rows, err := pool.Query(ctx, `
		insert into touches (workflow_id, entry_id, step_key, journey, journey_version, customer_id, step_id, channel, intent, status)
		select 'b:' || g, 'e', 's', 'bench', 1, 'c' || (g % $2), 's', 'email', 'caring', 'reserved'
		from generate_series(1, $1) g returning id`, b.N, customers)
	require.NoError(b, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(b, err)
	now := time.Now()
	b.ResetTimer()
	for i := range b.N {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := throttle.CheckAndReserve(ctx, tx, p, throttle.Check{
				TouchID: ids[i], CustomerID: fmt.Sprintf("c%d", (i+1)%customers), TimeZone: "Europe/Paris",
				Channel: channel.Email, Intent: channel.Caring, At: now.Add(time.Duration(i) * time.Minute),
			})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
