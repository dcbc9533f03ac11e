package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/workerapp"
)

// integrationApp gives the starter a real dev server, a real Postgres with
// the sample customers, and a running worker.
func integrationApp(t *testing.T) (*App, *bytes.Buffer) {
	t.Helper()
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	f, err := os.Open("../../deploy/dev/sample/customers.jsonl")
	require.NoError(t, err)
	defer f.Close()
	good, _, err := customer.ParseJSONL(f)
	require.NoError(t, err)
	for _, cu := range good {
		require.NoError(t, customer.Upsert(context.Background(), pool, cu))
	}
	ws := workerapp.New(c, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool)}, time.Second)
	require.NoError(t, ws.Start())
	t.Cleanup(ws.Stop)
	out := &bytes.Buffer{}
	return &App{Out: out, Err: &bytes.Buffer{}, pool: pool, temporal: c}, out
}

// TestSampleJourneysRunForEverySampleCustomer runs what `make demo` runs:
// every sample journey file for every sample customer, waits capped at 2s.
// Every journey completes, and no caring message goes out as a voice call.
func TestSampleJourneysRunForEverySampleCustomer(t *testing.T) {
	t.Parallel()
	app, out := integrationApp(t)
	ctx := context.Background()
	files, err := filepath.Glob("../../deploy/dev/sample/journeys/*.yaml")
	require.NoError(t, err)
	require.Len(t, files, 5)
	for _, f := range files {
		out.Reset()
		err := Run(ctx, app, []string{"start", "--journey", f, "--all", "--max-wait", "2s", "--wait", "--reentry"})
		require.NoError(t, err, "%s:\n%s", f, out.String())
		assert.Regexp(t, `journeys=(\d+) completed=(\d+) failed=0 `, out.String(), f)
		assert.NotContains(t, out.String(), "journey failed", f)
		t.Logf("%s:\n%s", filepath.Base(f), out.String())
	}
	var caringVoiceSent, sent int
	require.NoError(t, app.pool.QueryRow(ctx, `select
		count(*) filter (where intent = 'caring' and channel = 'voice' and status = 'sent'),
		count(*) filter (where status = 'sent')
		from touches`).Scan(&caringVoiceSent, &sent))
	assert.Zero(t, caringVoiceSent, "a robot must not say it cares")
	// The welcome series splits its customers: the touches after the split
	// carry the variant, so reports can compare variants.
	var variants int
	require.NoError(t, app.pool.QueryRow(ctx, `select count(distinct variant) from touches
		where journey = 'welcome-series' and variant is not null`).Scan(&variants))
	assert.Equal(t, 2, variants, "both variants of the welcome series reached the ledger")
	// Every eligible customer's wellness journey asked a person to call: a
	// call task where a call is allowed, a blocked voice touch where not.
	var tasks, refused int
	require.NoError(t, app.pool.QueryRow(ctx, `select count(*) from call_tasks where journey = 'wellness-check-in'`).Scan(&tasks))
	require.NoError(t, app.pool.QueryRow(ctx, `select count(*) from touches
		where journey = 'wellness-check-in' and step_id = 'check-in-call' and status = 'blocked'`).Scan(&refused))
	eligible, err := customer.JourneyEligibleIDs(ctx, app.pool)
	require.NoError(t, err)
	assert.Positive(t, tasks, "call tasks were opened")
	assert.Equal(t, len(eligible), tasks+refused, "every eligible customer's wellness journey asked for a human call")
	assert.Greater(t, sent, 40)
}

// TestEventReachesARunningJourney: `starter event` delivers an open to the
// journey waiting for it, and `starter status` shows what happened.
func TestEventReachesARunningJourney(t *testing.T) {
	t.Parallel()
	app, out := integrationApp(t)
	ctx := context.Background()
	file := "../../deploy/dev/sample/journeys/welcome-series.yaml"
	require.NoError(t, Run(ctx, app, []string{"start", "--journey", file, "--customer", "c-001", "--max-wait", "1m"}))

	// The same journey for the same customer is not started twice, even
	// with --reentry while it runs: it counts as already there, not failed.
	out.Reset()
	require.NoError(t, Run(ctx, app, []string{"start", "--journey", file, "--customer", "c-001", "--reentry"}))
	assert.Contains(t, out.String(), "started 0, already there 1, failed 0 of 1")

	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		out.Reset()
		require.NoError(ct, Run(ctx, app, []string{"status", "--journey", "welcome-series", "--customer", "c-001"}))
		assert.Contains(ct, out.String(), "at step wait-open (waiting for opened, clicked until")
	}, 30*time.Second, 100*time.Millisecond)

	out.Reset()
	require.NoError(t, Run(ctx, app, []string{"event", "--journey", file, "--customer", "c-001", "--kind", "opened"}))
	assert.Contains(t, out.String(), "sent opened to journey:welcome-series:c-001")

	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		out.Reset()
		require.NoError(ct, Run(ctx, app, []string{"status", "--journey", "welcome-series", "--customer", "c-001"}))
		assert.Contains(ct, out.String(), "completed")
	}, 30*time.Second, 100*time.Millisecond)
	s := out.String()
	assert.Contains(t, s, "wait-open          wait_for   opened -> first-offer")
	assert.True(t, strings.Contains(s, "first-offer        split      discount") || strings.Contains(s, "first-offer        split      shipping"), s)
	assert.NotContains(t, s, "tips-sms", "the timeout branch was not taken")

	err := Run(ctx, app, []string{"event", "--journey", "welcome-series", "--customer", "c-001", "--kind", "waved"})
	require.ErrorIs(t, err, ErrUsage)

	// A name that is not a file is a built-in journey.
	out.Reset()
	require.NoError(t, Run(ctx, app, []string{"start", "--journey", "welcome", "--customer", "c-002", "--max-wait", "500ms", "--wait"}))
	assert.Contains(t, out.String(), "journeys=1 completed=1 failed=0")
	err = Run(ctx, app, []string{"start", "--journey", "no-such-journey", "--customer", "c-002"})
	require.ErrorIs(t, err, ErrUsage)
}
