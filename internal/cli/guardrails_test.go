package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/cli"
	"github.com/outreach-engine/outreach/internal/config"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/policy"
	"github.com/outreach-engine/outreach/internal/policy/policydb"
	"github.com/outreach-engine/outreach/internal/testenv"
)

// starter runs the CLI against the test's own schema and returns its output.
type starter struct {
	t   *testing.T
	cfg config.Config
}

func newStarter(t *testing.T, pool *pgxpool.Pool) starter {
	var schema string
	require.NoError(t, pool.QueryRow(context.Background(), `select current_schema()`).Scan(&schema))
	url := pool.Config().ConnString()
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return starter{t: t, cfg: config.Config{DatabaseURL: url + sep + "search_path=" + schema}}
}

func (s starter) run(args ...string) (string, error) {
	var out, errs bytes.Buffer
	app := &cli.App{Config: s.cfg, Out: &out, Err: &errs}
	defer app.Close()
	err := cli.Run(context.Background(), app, args)
	return out.String() + errs.String(), err
}

func TestPreviewAndWhy(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	ctx := context.Background()
	st := newStarter(t, pool)
	out, err := st.run("customers", "import", "--file", "../../deploy/dev/sample/customers.jsonl")
	require.NoError(t, err, out)

	// Julie's story, before anything is sent.
	out, err = st.run("preview", "--journey", "offers", "--customer", "c-023")
	require.NoError(t, err, out)
	assert.Contains(t, out, "nothing is sent or reserved")
	assert.Regexp(t, `reorder-postcard +changed +mail postcard -> email +visibility\.po_box: the message is about an order the customer had sent to a PO box`, out)
	assert.Regexp(t, `urgent-letter +send +mail letter`, out)
	assert.Regexp(t, `changed +visibility\.po_box +1`, out)

	out, err = st.run("preview", "--journey", "offers", "--all", "--json")
	require.NoError(t, err, out)
	var r policydb.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	byID := map[string]policydb.CustomerPreview{}
	for _, c := range r.Customers {
		byID[c.CustomerID] = c
	}
	assert.False(t, byID["sub-emea-01"].Entered)
	assert.Equal(t, policy.RuleAccount, byID["sub-emea-01"].Enter.RuleID)
	require.Len(t, byID["c-024"].Steps, 6)
	assert.Equal(t, policy.RuleAudienceStage, byID["c-024"].Steps[2].Decision.RuleID, "no diapers for the parent of a fifteen-year-old")
	assert.Equal(t, policy.Allow, byID["c-025"].Steps[2].Decision.Outcome, "diapers for the parent of an infant")
	var touches int
	require.NoError(t, pool.QueryRow(ctx, `select count(*) from touches`).Scan(&touches))
	assert.Zero(t, touches, "a preview reserves nothing")

	_, err = st.run("preview", "--journey", "offers")
	assert.ErrorIs(t, err, cli.ErrUsage)
	_, err = st.run("preview", "--journey", "nope", "--all")
	assert.ErrorIs(t, err, cli.ErrUsage)
	_, err = st.run("preview", "--journey", "offers", "--customer", "c-nobody")
	assert.ErrorContains(t, err, "customer not found")

	// Deliver Julie's offers journey through the real activity, then ask why.
	acts := &activities.Activities{DB: pool, Senders: sandbox.Senders(pool)}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	def := journey.Offers(0)
	for _, s := range def.Steps {
		if s.Kind != journey.StepSend {
			continue
		}
		_, err := env.ExecuteActivity(acts.Deliver, activities.DeliverInput{
			Planned: ledger.Planned{
				Key:     ledger.Key{WorkflowID: "journey:offers:c-023", EntryID: "run-1", StepKey: s.ID + "#1"},
				Journey: def.Name, JourneyVersion: def.Version, CustomerID: "c-023",
				StepID: s.ID, Channel: s.Channel, Intent: s.Intent,
			},
			Template: def.Templates[s.Template],
		})
		require.NoError(t, err)
	}
	out, err = st.run("why", "--customer", "c-023")
	require.NoError(t, err, out)
	assert.Contains(t, out, "offers/reorder-postcard (promotional)\n  sent as email instead of the planned mail postcard; rule visibility.po_box: "+
		"the message is about an order the customer had sent to a PO box and must never go to the home address, so it moved to email\n")
	assert.Contains(t, out, "offers/golf-email (promotional)\n  not sent, the email was blocked; rule audience.interest: "+
		"the offer is for customers interested in golf; this customer told us: theater, travel\n")
	assert.Contains(t, out, "offers/urgent-letter (promotional)\n  sent as mail letter: every rule of respect passed")

	out, err = st.run("why", "--customer", "c-025")
	require.NoError(t, err)
	assert.Equal(t, "customer c-025 has had no touches\n", out)
	_, err = st.run("why", "--customer", "c-nobody")
	assert.ErrorContains(t, err, "customer not found: c-nobody")
}
