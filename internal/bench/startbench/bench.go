package main

// The measurements: how fast the starter starts journeys, next to a bare
// Temporal baseline, the same number of trivial workflows started with the
// same client and parallelism against the same server in the same run.

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/outreach-engine/outreach/internal/audience"
	"github.com/outreach-engine/outreach/internal/bulk"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/workflows"
)

// LoadCustomers copies n customers with email consent into the customer
// table, plus a few accounts that are not customers (which the audience
// must leave out).
func LoadCustomers(ctx context.Context, pool *pgxpool.Pool, n int) error {
	rows := make([][]any, 0, n+3)
	consents := make([][]any, 0, n)
	for i := range n {
		id := fmt.Sprintf("c-%06d", i)
		rows = append(rows, []any{id, "Customer " + id, id + "@example.com", "UTC", "customer"})
		consents = append(consents, []any{id, "email", true})
	}
	for _, acct := range []string{"internal", "subsidiary", "affiliate"} {
		rows = append(rows, []any{"x-" + acct, "Account", "acct@example.com", "UTC", acct})
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"customers"},
		[]string{"id", "name", "email", "time_zone", "account_type"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy customers: %w", err)
	}
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"consents"}, []string{"customer_id", "channel", "granted"}, pgx.CopyFromRows(consents))
	return err
}

// Measurement is one timed batch of starts.
type Measurement struct {
	Name    string
	Started int
	Failed  int
	Elapsed time.Duration
}

// Rate is starts per second.
func (m Measurement) Rate() float64 { return float64(m.Started) / m.Elapsed.Seconds() }

// Baseline starts n trivial workflows (no input, a workflow type no worker
// knows: nothing runs, only the start is measured) with errgroup's bounded
// parallelism and the same ID reuse options the starter uses.
func Baseline(ctx context.Context, c client.Client, n, parallel int, prefix string) Measurement {
	m := Measurement{Name: "baseline"}
	start := time.Now()
	failed := make([]bool, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for i := range n {
		g.Go(func() error {
			_, err := c.ExecuteWorkflow(gctx, client.StartWorkflowOptions{
				ID:                                       fmt.Sprintf("%s:%06d", prefix, i),
				TaskQueue:                                "bench-baseline",
				WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
				WorkflowExecutionErrorWhenAlreadyStarted: true,
			}, "Noop")
			failed[i] = err != nil
			return nil
		})
	}
	_ = g.Wait()
	m.Elapsed = time.Since(start)
	for _, f := range failed {
		if f {
			m.Failed++
		} else {
			m.Started++
		}
	}
	return m
}

// Engine does what `starter start --journey NAME --all` does: resolve the
// audience from Postgres, then start one journey per customer through the
// bulk runner, with the journey definition in every input.
func Engine(ctx context.Context, c client.Client, db *pgxpool.Pool, parallel int, journeyName string) (Measurement, error) {
	m := Measurement{Name: "engine"}
	start := time.Now()
	aud, err := audience.All(ctx, db)
	if err != nil {
		return m, err
	}
	def := journey.Welcome(24*time.Hour, 7*24*time.Hour)
	def.Name = journeyName
	starter := bulk.JourneyStarter{Client: c, Journey: def.Name, Memo: workflows.StartMemo(def), Input: func(id string) workflows.JourneyInput {
		return workflows.JourneyInput{CustomerID: id, Journey: def}
	}}
	res := bulk.Run(ctx, aud.IDs, bulk.Options{Parallel: parallel}, starter.Start)
	m.Elapsed = time.Since(start)
	m.Started, m.Failed = res.Done, res.Failed()+res.Skipped
	return m, nil
}

// Config is one benchmark run.
type Config struct {
	Customers int
	Parallel  int
	Rounds    int
}

// Summary is the outcome of Run.
type Summary struct {
	Baseline, Engine Measurement
}

// Ratio is the engine's start rate over the baseline's.
func (s Summary) Ratio() float64 { return s.Engine.Rate() / s.Baseline.Rate() }

// Run alternates baseline and engine measurements (baseline, engine,
// baseline, engine, ...) so that drift in the machine's load hits both, and
// sums them.
func Run(ctx context.Context, w io.Writer, c client.Client, db *pgxpool.Pool, cfg Config) (Summary, error) {
	sum := Summary{Baseline: Measurement{Name: "baseline"}, Engine: Measurement{Name: "engine"}}
	add := func(total *Measurement, m Measurement, round int) {
		total.Started += m.Started
		total.Failed += m.Failed
		total.Elapsed += m.Elapsed
		fmt.Fprintf(w, "round %d  %-8s  %6d started  %d failed  in %6.2fs  %7.0f starts/s\n",
			round, m.Name, m.Started, m.Failed, m.Elapsed.Seconds(), m.Rate())
	}
	for round := 1; round <= cfg.Rounds; round++ {
		b := Baseline(ctx, c, cfg.Customers, cfg.Parallel, fmt.Sprintf("baseline-%d", round))
		add(&sum.Baseline, b, round)
		m, err := Engine(ctx, c, db, cfg.Parallel, fmt.Sprintf("bench-%d", round))
		if err != nil {
			return sum, err
		}
		add(&sum.Engine, m, round)
		fmt.Fprintf(w, "round %d  ratio %.2f\n", round, m.Rate()/b.Rate())
	}
	return sum, nil
}
