package e2e

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/policy"
	"github.com/outreach-engine/outreach/internal/policy/policydb"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/workflows"
)

// importSample loads the sample customers that `make demo` uses.
func importSample(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	f, err := os.Open("../../deploy/dev/sample/customers.jsonl")
	require.NoError(t, err)
	defer f.Close()
	good, bad, err := customer.ParseJSONL(f)
	require.NoError(t, err)
	require.Empty(t, bad, "every sample line is valid")
	for _, c := range good {
		require.NoError(t, customer.Upsert(context.Background(), pool, c))
	}
}

// TestPreviewMatchesTheLedger previews the sample journeys on the sample
// customers, then runs them for real on a dev server: every customer's every
// step ends in the ledger exactly as the preview said, with the same rule and
// the same reason, and accounts the preview kept out never got a touch.
func TestPreviewMatchesTheLedger(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	ctx := context.Background()
	importSample(t, pool)

	defs := []journey.Definition{journey.Welcome(50*time.Millisecond, 50*time.Millisecond), journey.Offers(50 * time.Millisecond)}
	all, err := policydb.AllCustomerIDs(ctx, pool)
	require.NoError(t, err)
	previews := map[string]policydb.Report{}
	for _, def := range defs {
		r, err := policydb.Preview(ctx, pool, def, all, time.Now())
		require.NoError(t, err)
		previews[def.Name] = r
	}
	var touchesBefore int
	require.NoError(t, pool.QueryRow(ctx, `select count(*) from touches`).Scan(&touchesBefore))
	require.Zero(t, touchesBefore, "a preview reserves nothing")

	// The sample data shows every rule at work.
	seen := map[string]bool{}
	for _, r := range previews {
		for _, tot := range r.Totals {
			seen[string(tot.Outcome)+" "+tot.RuleID] = true
		}
	}
	for _, want := range []string{
		"block account.not_customer", "block consent.sms", "block audience.interest", "block audience.life_stage",
		"block claim.unbacked", "block addressing.unnamed", "change visibility.po_box", "change visibility.sensitive", "allow allow",
	} {
		assert.True(t, seen[want], "the sample preview shows %q", want)
	}

	senders := sandbox.Senders(pool)
	mail := &capture{inner: senders[channel.Mail]}
	senders[channel.Mail] = mail
	startWorkers(t, c, &activities.Activities{DB: pool, Senders: senders})
	eligible, err := customer.JourneyEligibleIDs(ctx, pool)
	require.NoError(t, err)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, def := range defs {
		for _, id := range eligible {
			g.Go(func() error {
				run, err := c.ExecuteWorkflow(gctx, client.StartWorkflowOptions{
					ID: workflows.WorkflowID(def.Name, id), TaskQueue: workflows.TaskQueue,
				}, workflows.Journey, workflows.JourneyInput{CustomerID: id, Journey: def})
				if err != nil {
					return err
				}
				return run.Get(gctx, nil)
			})
		}
	}
	require.NoError(t, g.Wait())

	compared := 0
	for _, def := range defs {
		for _, cp := range previews[def.Name].Customers {
			touches, err := ledger.ForWorkflow(ctx, pool, workflows.WorkflowID(def.Name, cp.CustomerID))
			require.NoError(t, err)
			if !cp.Entered {
				assert.Empty(t, touches, "%s was kept out by the preview and never touched", cp.CustomerID)
				continue
			}
			explained, err := policydb.Explain(ctx, pool, cp.CustomerID)
			require.NoError(t, err)
			byTouch := map[int64]policydb.Explained{}
			for _, e := range explained {
				byTouch[e.TouchID] = e
			}
			require.Len(t, touches, len(cp.Steps), "%s/%s: one touch per send step", def.Name, cp.CustomerID)
			for i, s := range cp.Steps {
				got, d := touches[i], s.Decision
				where := def.Name + "/" + cp.CustomerID + "/" + s.StepID
				require.Equal(t, s.StepID, got.StepID, where)
				switch d.Outcome {
				case policy.Block:
					assert.Equal(t, ledger.Blocked, got.Status, where)
					assert.Equal(t, d.RuleID, got.Reason, where)
				case policy.Change:
					assert.Equal(t, ledger.Sent, got.Status, where)
					assert.Equal(t, d.RuleID, got.Reason, where)
				default:
					assert.Equal(t, ledger.Sent, got.Status, where)
					assert.Empty(t, got.Reason, where)
				}
				assert.Equal(t, d.Final.Channel, got.Channel, where)
				e := byTouch[got.ID]
				assert.Equal(t, d.Outcome, e.Outcome, where)
				assert.Equal(t, d.RuleID, e.RuleID, where)
				assert.Equal(t, d.Reason, e.Reason, where)
				assert.Equal(t, d.Final.Surface, e.FinalSurface, where)
				compared++
			}
		}
	}
	t.Logf("compared %d touches between preview and ledger", compared)

	// What actually reached the providers: Julie's re-order offer went by
	// email, never onto a postcard at her home; Sam's went in an envelope.
	recs, err := sandbox.ForCustomer(ctx, pool, "c-023")
	require.NoError(t, err)
	var julie []string
	for _, r := range recs {
		if r.Body == "Hey, Julie! Your next order 10% OFF!" {
			julie = append(julie, r.Channel)
		}
	}
	assert.Equal(t, []string{string(channel.Email)}, julie)
	formats := map[string][]string{}
	for _, m := range mail.got() {
		formats[m.CustomerID] = append(formats[m.CustomerID], m.Format)
	}
	for _, f := range formats {
		slices.Sort(f)
	}
	// Both journeys run at once, so only the multiset of formats is stable.
	assert.Equal(t, []string{"letter", "postcard", "postcard"}, formats["c-024"],
		"a bookshop customer's re-order postcard stays a postcard (with the welcome postcard and the urgent letter)")
	assert.Equal(t, []string{"letter", "letter", "letter", "postcard"}, formats["c-027"],
		"the sensitive re-order postcard and text both go out as sealed letters; only the welcome postcard is a postcard")
}

// capture records every message a sender is given.
type capture struct {
	inner channel.Sender
	mu    sync.Mutex
	msgs  []channel.Message
}

func (c *capture) Send(ctx context.Context, m channel.Message) (channel.Receipt, error) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
	return c.inner.Send(ctx, m)
}

func (c *capture) got() []channel.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}
