package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/config"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/testenv"
)

func newApp(t *testing.T, dbURL string) (*App, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cfg, err := config.Load()
	require.NoError(t, err)
	cfg.DatabaseURL = dbURL
	var out, errOut bytes.Buffer
	app := &App{Config: cfg, Out: &out, Err: &errOut, Logger: cfg.Logger()}
	t.Cleanup(app.Close)
	return app, &out, &errOut
}

func TestImportKeepsGoodLinesNamesBadOnesAndFails(t *testing.T) {
	pool, url := testenv.PostgresURL(t)
	app, out, errOut := newApp(t, url)
	file := filepath.Join("..", "customer", "testdata", "mixed.jsonl")

	err := Run(context.Background(), app, []string{"customers", "import", "--file", file})
	require.ErrorIs(t, err, ErrRejected, "a file with bad lines makes the command fail")
	assert.Equal(t, "imported 2 customers, rejected 8 lines\n", out.String())

	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	require.Len(t, lines, 8)
	assert.Contains(t, lines[0], file+`: line 2: time_zone: "Mars/Olympus_Mons" is not an IANA time zone`)
	assert.Contains(t, lines[1], `line 3: email:`)
	assert.Contains(t, lines[2], `line 4: malformed JSON`)

	ctx := context.Background()
	c, err := customer.Get(ctx, pool, "ok-2")
	require.NoError(t, err)
	assert.Equal(t, "Hampton", c.Address.City)
	_, err = customer.Get(ctx, pool, "bad-tz")
	assert.ErrorIs(t, err, customer.ErrNotFound)
}

func TestImportOfTheSampleCustomersIsCleanAndRepeatable(t *testing.T) {
	pool, url := testenv.PostgresURL(t)
	app, out, _ := newApp(t, url)
	file := filepath.Join("..", "..", "deploy", "dev", "sample", "customers.jsonl")
	for range 2 {
		out.Reset()
		require.NoError(t, Run(context.Background(), app, []string{"customers", "import", "--file", file}))
		assert.Regexp(t, `^imported \d+ customers, rejected 0 lines`, out.String())
	}
	ids, err := customer.JourneyEligibleIDs(context.Background(), pool)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(ids), 20)
	for _, id := range ids {
		assert.True(t, strings.HasPrefix(id, "c-"), "non-customer account %s is eligible for journeys", id)
	}
}

func TestUsageErrors(t *testing.T) {
	app, _, errOut := newApp(t, "postgres://unused")
	ctx := context.Background()
	assert.ErrorIs(t, Run(ctx, app, []string{"frobnicate"}), ErrUsage)
	assert.Contains(t, errOut.String(), "customers import")
	assert.ErrorIs(t, Run(ctx, app, []string{"customers", "import"}), ErrUsage)
	assert.ErrorIs(t, Run(ctx, app, []string{"start", "--journey", "welcome"}), ErrUsage)
	assert.ErrorIs(t, Run(ctx, app, []string{"start", "--journey", "welcome", "--all", "--customer", "c-1"}), ErrUsage)
}
