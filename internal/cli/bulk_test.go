package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/report"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/workerapp"
)

// sampleApp is an App on a fresh schema holding the sample customers.
func sampleApp(t *testing.T) (*App, *pgxpool.Pool, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	pool, url := testenv.PostgresURL(t)
	app, out, errOut := newApp(t, url)
	file := filepath.Join("..", "..", "deploy", "dev", "sample", "customers.jsonl")
	require.NoError(t, Run(context.Background(), app, []string{"customers", "import", "--file", file}))
	out.Reset()
	return app, pool, out, errOut
}

// withTemporal gives the app its own client of the test's dev server.
func withTemporal(t *testing.T, app *App, c client.Client) {
	t.Helper()
	own, err := client.NewClientFromExisting(c, client.Options{})
	require.NoError(t, err)
	app.temporal = own
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestDryRunShowsTheAudienceAndStartsNothing(t *testing.T) {
	app, pool, out, errOut := sampleApp(t)
	ctx := context.Background()
	list := write(t, "vip.txt", "# spring\nc-001\nc-404\nint-qa-01\nc-003 # tall\n")
	require.NoError(t, Run(ctx, app, []string{"start", "--journey", "welcome", "--list", list, "--dry-run"}))
	assert.Equal(t, "dry run: would start journey welcome (version 1) for 2 customers (list "+list+"); nothing was changed\n"+
		"2 list lines left out (listed above)\nsample: c-001 c-003\n", out.String())
	assert.Equal(t, list+": line 3: c-404: no such customer\n"+
		list+": line 4: int-qa-01: internal account, not a customer: left out\n", errOut.String())

	seg := write(t, "texters.yaml", `name: texters
description: SMS opted in, at least N orders
params:
  min: 5
where:
  - consent: sms
  - attribute: orders
    op: ">="
    value: $min
`)
	var want int
	require.NoError(t, pool.QueryRow(ctx, `
		select count(*) from customers c join consents k on k.customer_id = c.id and k.channel = 'sms' and k.granted
		where c.account_type = 'customer' and (c.attributes->>'orders')::int >= 9`).Scan(&want))
	require.Positive(t, want)
	out.Reset()
	require.NoError(t, Run(ctx, app, []string{"start", "--journey", "welcome", "--segment", seg, "--param", "min=9", "--dry-run"}))
	assert.Contains(t, out.String(), "for "+strconv.Itoa(want)+" customers (segment texters (min=9))")

	err := Run(ctx, app, []string{"start", "--journey", "welcome", "--segment", seg, "--param", "max=9", "--dry-run"})
	assert.ErrorContains(t, err, `segment texters has no parameter "max" (it has: min)`)

	// A stored segment is found by name.
	out.Reset()
	require.NoError(t, Run(ctx, app, []string{"segments", "save", "--file", seg}))
	assert.Equal(t, "stored segment texters: use --segment texters\n", out.String())
	out.Reset()
	require.NoError(t, Run(ctx, app, []string{"cancel", "--journey", "welcome", "--segment", "texters", "--param", "min=9", "--dry-run"}))
	assert.Contains(t, out.String(), "dry run: would cancel journey welcome for "+strconv.Itoa(want)+" customers")

	// A non-customer account never enters a journey, even when named.
	err = Run(ctx, app, []string{"start", "--journey", "welcome", "--customer", "int-qa-01", "--dry-run"})
	assert.ErrorContains(t, err, "int-qa-01 is not a customer (account type internal): only customers enter journeys")

	var touches int
	require.NoError(t, pool.QueryRow(ctx, `select count(*) from touches`).Scan(&touches))
	assert.Zero(t, touches)
}

func TestAudienceUsageErrors(t *testing.T) {
	app, _, _ := newApp(t, "postgres://unused")
	ctx := context.Background()
	for _, args := range [][]string{
		{"start", "--journey", "welcome", "--all", "--list", "x.txt"},
		{"start", "--journey", "welcome", "--all", "--param", "a=1"},
		{"start", "--journey", "welcome", "--all", "--parallel", "0"},
		{"cancel", "--all"},
		{"report"},
	} {
		assert.ErrorIs(t, Run(ctx, app, args), ErrUsage, strings.Join(args, " "))
	}
}

// Real journeys on a dev server with a worker, then the report: the funnel
// agrees with what the journeys themselves returned.
func TestReportAfterRealJourneys(t *testing.T) {
	app, pool, out, _ := sampleApp(t)
	c := testenv.Temporal(t)
	withTemporal(t, app, c)
	ws := workerapp.New(c, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool)}, time.Second)
	require.NoError(t, ws.Start())
	t.Cleanup(ws.Stop)
	ctx := context.Background()

	require.NoError(t, Run(ctx, app, []string{"start", "--journey", "welcome", "--all", "--max-wait", "100ms", "--wait"}))
	m := regexp.MustCompile(`journeys=(\d+) completed=\d+ failed=0 touches_sent=(\d+) touches_blocked=(\d+)`).FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	journeys, _ := strconv.Atoi(m[1])
	sent, _ := strconv.Atoi(m[2])
	blocked, _ := strconv.Atoi(m[3])

	out.Reset()
	csvPath := filepath.Join(t.TempDir(), "welcome.csv")
	require.NoError(t, Run(ctx, app, []string{"report", "--journey", "welcome", "--csv", csvPath}))
	text := out.String()
	t.Log("\n" + text)
	assert.Contains(t, text, "journey welcome (version 1): "+strconv.Itoa(journeys)+" entries")
	assert.Contains(t, text, report.NoEngagement)
	assert.Contains(t, text, "blocked by consent.sms")

	out.Reset()
	require.NoError(t, Run(ctx, app, []string{"report", "--journey", "welcome", "--json"}))
	var r report.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	require.Len(t, r.Steps, 3)
	assert.Equal(t, []string{"welcome-email", "tips-sms", "hello-postcard"},
		[]string{r.Steps[0].StepID, r.Steps[1].StepID, r.Steps[2].StepID})
	totalSent, totalBlocked := 0, 0
	for _, s := range r.Steps {
		assert.Equal(t, journeys, s.Entered, "every journey reaches step %s", s.StepID)
		assert.Equal(t, s.Entered, s.Sent+s.Blocked+s.Failed, "step %s adds up", s.StepID)
		totalSent += s.Sent
		totalBlocked += s.Blocked
	}
	assert.Equal(t, sent, totalSent)
	assert.Equal(t, blocked, totalBlocked)
	counts, err := ledger.CountByStatus(ctx, pool, "welcome")
	require.NoError(t, err)
	assert.Equal(t, counts[ledger.Sent], totalSent)

	csvText, err := os.ReadFile(csvPath)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(csvText), "section,name,channel,entered,sent,"))
	assert.Equal(t, 4, strings.Count(string(csvText), "\n"), "header and three steps")

	// Starting again skips everyone: the journeys are already there.
	out.Reset()
	require.NoError(t, Run(ctx, app, []string{"start", "--journey", "welcome", "--all"}))
	assert.Contains(t, out.String(), "started 0, already there "+strconv.Itoa(journeys)+", failed 0")
}

func TestBulkCancelAsksFirst(t *testing.T) {
	app, _, out, errOut := sampleApp(t)
	c := testenv.Temporal(t)
	withTemporal(t, app, c)
	ctx := context.Background()
	list := write(t, "two.txt", "c-001\nc-002\n")
	require.NoError(t, Run(ctx, app, []string{"start", "--journey", "welcome", "--list", list}))

	restore := func(in string, tty bool) {
		confirmInput = strings.NewReader(in)
		inputIsTerminal = func() bool { return tty }
	}
	t.Cleanup(func() { restore("", false); confirmInput = os.Stdin })

	restore("", false)
	err := Run(ctx, app, []string{"cancel", "--journey", "welcome", "--list", list})
	assert.ErrorIs(t, err, ErrUsage)
	assert.ErrorContains(t, err, "stdin is not a terminal: add --yes to confirm")

	restore("n\n", true)
	errOut.Reset()
	err = Run(ctx, app, []string{"cancel", "--journey", "welcome", "--list", list})
	assert.ErrorIs(t, err, ErrNotConfirmed)
	assert.Contains(t, errOut.String(), "cancel journey welcome for 2 customers (list "+list+")? [y/N]")

	restore("y\n", true)
	out.Reset()
	require.NoError(t, Run(ctx, app, []string{"cancel", "--journey", "welcome", "--list", list}))
	assert.Contains(t, out.String(), "cancelled 2, not running 0, failed 0 of 2")

	// One customer needs no confirmation; a journey that is not there is skipped.
	restore("", false)
	out.Reset()
	require.NoError(t, Run(ctx, app, []string{"cancel", "--journey", "welcome", "--customer", "c-003"}))
	assert.Contains(t, out.String(), "cancelled 0, not running 1, failed 0 of 1")
}
