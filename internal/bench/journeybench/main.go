// Command journeybench measures end-to-end journey throughput against a bare
// Temporal baseline in the same run, on the same dev server, with the same
// worker options: real journeys (sandbox delivery, the real ledger and every
// rule in Postgres) versus a trivial workflow running the same number of no-op
// activities per run. Rounds alternate (baseline, engine, baseline, ...) so
// that a noisy machine affects both sides alike; the ratio of medians is
// printed. It then measures the worker's peak RSS with many journeys waiting
// on timers, using the real worker binary as a separate process.
//
//	go run ./internal/bench/journeybench -journeys 150 -rounds 5 -waiting 10000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/errgroup"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/bench/benchenv"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/throttle"
	"github.com/outreach-engine/outreach/internal/visibility"
	"github.com/outreach-engine/outreach/internal/workerapp"
	"github.com/outreach-engine/outreach/workflows"
)

func main() {
	var (
		n         = flag.Int("journeys", 150, "journeys per round")
		rounds    = flag.Int("rounds", 5, "rounds of each side")
		sends     = flag.Int("sends", 3, "send steps per journey (and no-op activities per baseline run)")
		waiting   = flag.Int("waiting", 10000, "journeys left waiting on a timer for the memory figure (0 skips it)")
		parallel  = flag.Int("parallel", 32, "concurrent workflow starts")
		cli       = flag.String("temporal-cli", envOr("OUTREACH_TEMPORAL_CLI", ".tools/bin/temporal"), "pinned Temporal CLI binary")
		pgURL     = flag.String("pg", envOr("OUTREACH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "Postgres admin URL")
		workerBin = flag.String("worker-bin", "bin/worker", "worker binary for the memory figure")
		cpuProf   = flag.String("cpuprofile", "", "write a CPU profile of the benchmark process (engine and baseline workers) to this file")
		cache     = flag.Int("cache", 1000, "workflow cache size of both sides and of the worker binary (OUTREACH_WORKFLOW_CACHE_SIZE)")
	)
	flag.Parse()
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "journeybench: cpu profile:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(context.Background(), config{*n, *rounds, *sends, *waiting, *parallel, *cache, *cli, *pgURL, *workerBin}); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "journeybench:", err)
		os.Exit(1)
	}
}

type config struct {
	journeys, rounds, sends, waiting, parallel, cache int
	cli, pgURL, workerBin                             string
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, cfg config) error {
	// The cache is the process's: both sides run with the worker binary's.
	worker.SetStickyWorkflowCacheSize(cfg.cache)
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: cfg.cli, LogLevel: "error", Stdout: io.Discard, Stderr: io.Discard,
		SearchAttributes: visibility.Attributes(),
		ClientOptions:    &client.Options{Logger: benchenv.Quiet{}},
	})
	if err != nil {
		return fmt.Errorf("start dev server: %w", err)
	}
	defer srv.Stop()
	c := srv.Client()

	scratch, err := benchenv.NewScratch(ctx, cfg.pgURL, "bench")
	if err != nil {
		return err
	}
	defer scratch.Close()
	pool, dbURL := scratch.Pool, scratch.URL
	total := cfg.journeys*cfg.rounds + cfg.waiting
	if err := loadCustomers(ctx, pool, total); err != nil {
		return err
	}
	fmt.Printf("journeybench: %d journeys x %d rounds, %d sends each, dev server in memory, %d start parallelism, workflow cache %d\n",
		cfg.journeys, cfg.rounds, cfg.sends, cfg.parallel, cfg.cache)

	// Both sides share these worker options.
	opts := worker.Options{WorkerStopTimeout: 5 * time.Second}
	// The built-in throttle policy: transactional email is exempt from its
	// caps and minimum gap and email has no quiet hours, so every touch is
	// checked and recorded by the throttle and none is deferred.
	engine := workerapp.New(c, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool), Throttle: throttle.Default()},
		opts.WorkerStopTimeout)
	if err := engine.Start(); err != nil {
		return err
	}
	// Like the engine, the baseline runs its workflows and its activities on
	// separate task queues, each with its own worker.
	baseWf := worker.New(c, baselineQueue, opts)
	baseWf.RegisterWorkflowWithOptions(Baseline, workflow.RegisterOptions{Name: "Baseline"})
	baseAct := worker.New(c, baselineActivityQueue, opts)
	baseAct.RegisterActivityWithOptions(Noop, activity.RegisterOptions{Name: "Noop"})
	for _, w := range []worker.Worker{baseWf, baseAct} {
		if err := w.Start(); err != nil {
			return err
		}
		defer w.Stop()
	}

	def := sendsJourney(cfg.sends)
	var baseRates, engRates []float64
	next := 0
	for r := 0; r < cfg.rounds; r++ {
		br, err := measure(ctx, c, cfg.journeys, cfg.parallel, func(i int) (client.WorkflowRun, error) {
			return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: fmt.Sprintf("baseline:%d:%d", r, i), TaskQueue: baselineQueue,
			}, "Baseline", cfg.sends)
		})
		if err != nil {
			return fmt.Errorf("baseline round %d: %w", r+1, err)
		}
		start := next
		er, err := measure(ctx, c, cfg.journeys, cfg.parallel, func(i int) (client.WorkflowRun, error) {
			id := customerID(start + i)
			return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: workflows.WorkflowID(def.Name, id), TaskQueue: workflows.TaskQueue,
			}, workflows.Journey, workflows.JourneyInput{CustomerID: id, Journey: def})
		})
		if err != nil {
			return fmt.Errorf("engine round %d: %w", r+1, err)
		}
		next += cfg.journeys
		baseRates, engRates = append(baseRates, br), append(engRates, er)
		fmt.Printf("round %d: baseline %.1f journeys/s, engine %.1f journeys/s (%.1f touches/s)\n",
			r+1, br, er, er*float64(cfg.sends))
	}
	var sent int
	if err := pool.QueryRow(ctx, `select count(*) from touches where status = 'sent'`).Scan(&sent); err != nil {
		return err
	}
	if want := cfg.journeys * cfg.rounds * cfg.sends; sent != want {
		return fmt.Errorf("the ledger has %d sent touches, want %d", sent, want)
	}
	sample := min(cfg.journeys, 50)
	hist, err := meanHistoryLength(ctx, c, sample, func(i int) string { return workflows.WorkflowID(def.Name, customerID(i)) })
	if err != nil {
		return err
	}
	baseHist, err := meanHistoryLength(ctx, c, sample, func(i int) string { return fmt.Sprintf("baseline:0:%d", i) })
	if err != nil {
		return err
	}
	b, e := median(baseRates), median(engRates)
	fmt.Printf("end-to-end: baseline %.1f journeys/s, engine %.1f journeys/s = %.1f touches/s, ratio %.2f (median of %d rounds)\n",
		b, e, e*float64(cfg.sends), e/b, cfg.rounds)
	fmt.Printf("history: %.1f events per journey of %d sends, %.1f per baseline run (mean of %d)\n", hist, cfg.sends, baseHist, sample)
	engine.Stop()

	if cfg.waiting > 0 {
		rss, err := waitingRSS(ctx, c, srv.FrontendHostPort(), dbURL, cfg, next)
		if err != nil {
			return fmt.Errorf("memory figure: %w", err)
		}
		fmt.Printf("memory: worker peak RSS %.1f MiB with %d journeys waiting on timers, %.1f MiB with %d (workflow cache %d)\n",
			rss.peakAll, cfg.waiting, rss.peakFirst, rss.firstN, cfg.cache)
	}
	return nil
}

const (
	baselineQueue         = "bench-baseline"
	baselineActivityQueue = "bench-baseline-activities"
)

// Baseline runs n no-op activities in a row: the bare Temporal cost of a journey with n sends.
func Baseline(ctx workflow.Context, n int) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           baselineActivityQueue,
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 8},
	})
	for i := 0; i < n; i++ {
		if err := workflow.ExecuteActivity(ctx, "Noop", i).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// Noop does nothing.
func Noop(context.Context, int) error { return nil }

func sendsJourney(n int) journey.Definition {
	def := journey.Definition{Name: "bench", Version: 1, Templates: map[string]journey.Template{
		"note": {Subject: "Hello {{.FirstName}}", Body: "Hi {{.FirstName}}, this is message {{.CustomerID}}."},
	}}
	for i := 0; i < n; i++ {
		def.Steps = append(def.Steps, journey.Step{ID: "send-" + strconv.Itoa(i+1), Kind: journey.StepSend,
			Channel: channel.Email, Intent: channel.Transactional, Template: "note"})
	}
	return def
}

// measure starts n workflows with bounded parallelism, waits for all of them
// and returns completed workflows per second.
func measure(ctx context.Context, c client.Client, n, parallel int, start func(i int) (client.WorkflowRun, error)) (float64, error) {
	began := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	runs := make([]client.WorkflowRun, n)
	for i := 0; i < n; i++ {
		g.Go(func() error {
			if gctx.Err() != nil {
				return gctx.Err()
			}
			r, err := start(i)
			runs[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(parallel * 4)
	for _, r := range runs {
		g.Go(func() error { return r.Get(gctx, nil) })
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(began).Seconds(), nil
}

// meanHistoryLength is the mean history length of the n runs named by id(0..n-1).
func meanHistoryLength(ctx context.Context, c client.Client, n int, id func(int) string) (float64, error) {
	total := 0
	for i := 0; i < n; i++ {
		d, err := c.DescribeWorkflowExecution(ctx, id(i), "")
		if err != nil {
			return 0, err
		}
		total += int(d.GetWorkflowExecutionInfo().GetHistoryLength())
	}
	return float64(total) / float64(n), nil
}

type rssFigures struct {
	peakFirst, peakAll float64
	firstN             int
}

// waitingRSS runs the real worker binary, starts cfg.waiting journeys that
// send once and then wait a week, and reads the worker's peak RSS once all of
// them wait (and once a tenth of them do, to show growth is bounded).
func waitingRSS(ctx context.Context, c client.Client, hostPort, dbURL string, cfg config, offset int) (rssFigures, error) {
	bin, err := filepath.Abs(cfg.workerBin)
	if err != nil {
		return rssFigures{}, err
	}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+hostPort, "DATABASE_URL="+dbURL, "LOG_LEVEL=error",
		"OUTREACH_SHUTDOWN_GRACE=2s", "OUTREACH_OPS_ADDR=127.0.0.1:0", "OUTREACH_WORKFLOW_CACHE_SIZE="+strconv.Itoa(cfg.cache))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return rssFigures{}, fmt.Errorf("start %s: %w (run `make build` first)", bin, err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()

	// The journey waits a week first: what is measured is the cost of
	// journeys parked on timers, not of their sends.
	def := journey.Definition{Name: "bench-wait", Version: 1,
		Templates: map[string]journey.Template{"note": {Body: "Hi {{.FirstName}}"}},
		Steps: []journey.Step{
			{ID: "wait", Kind: journey.StepWait, Wait: 7 * 24 * time.Hour},
			{ID: "hello", Kind: journey.StepSend, Channel: channel.Email, Intent: channel.Transactional, Template: "note"},
		}}
	firstN := cfg.waiting / 10
	var out rssFigures
	out.firstN = firstN
	startBatch := func(from, to int) error {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(cfg.parallel)
		for i := from; i < to; i++ {
			g.Go(func() error {
				id := customerID(offset + i)
				_, err := c.ExecuteWorkflow(gctx, client.StartWorkflowOptions{
					ID: workflows.WorkflowID(def.Name, id), TaskQueue: workflows.TaskQueue,
				}, workflows.Journey, workflows.JourneyInput{CustomerID: id, Journey: def})
				return err
			})
		}
		return g.Wait()
	}
	// A journey is waiting once its search attributes name the wait step
	// (upserted in the workflow task that starts the timer).
	query := fmt.Sprintf(`%s = %q AND %s = "wait"`, visibility.JourneyName.GetName(), def.Name, visibility.JourneyStep.GetName())
	waitParked := func(want int) error {
		deadline := time.Now().Add(15 * time.Minute)
		for time.Now().Before(deadline) {
			res, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
			if err != nil {
				return err
			}
			if int(res.GetCount()) >= want {
				time.Sleep(2 * time.Second) // let the last workflow tasks finish
				return nil
			}
			time.Sleep(500 * time.Millisecond)
		}
		return errors.New("journeys did not reach their timers in time")
	}
	if err := startBatch(0, firstN); err != nil {
		return out, err
	}
	if err := waitParked(firstN); err != nil {
		return out, err
	}
	if out.peakFirst, err = peakRSS(cmd.Process.Pid); err != nil {
		return out, err
	}
	if err := startBatch(firstN, cfg.waiting); err != nil {
		return out, err
	}
	if err := waitParked(cfg.waiting); err != nil {
		return out, err
	}
	out.peakAll, err = peakRSS(cmd.Process.Pid)
	return out, err
}

// peakRSS reads VmHWM (peak resident set) of a process, in MiB.
func peakRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

func customerID(i int) string { return fmt.Sprintf("b-%06d", i) }

// loadCustomers COPYs n customers with email consent into the scratch schema.
func loadCustomers(ctx context.Context, pool *pgxpool.Pool, n int) error {
	rows := make([][]any, n)
	cons := make([][]any, n)
	for i := range rows {
		id := customerID(i)
		rows[i] = []any{id, "Bench Customer " + strconv.Itoa(i), id + "@example.com", "UTC"}
		cons[i] = []any{id, "email", true}
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"customers"}, []string{"id", "name", "email", "time_zone"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy customers: %w", err)
	}
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"consents"}, []string{"customer_id", "channel", "granted"}, pgx.CopyFromRows(cons))
	return err
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
