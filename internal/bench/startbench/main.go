// Command startbench measures journeys started per second for many
// customers next to a bare Temporal baseline, on a dev server it starts from
// the pinned Temporal CLI and a scratch Postgres schema. `make bench-start`
// runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/outreach-engine/outreach/internal/bench/benchenv"
	"github.com/outreach-engine/outreach/internal/bulk"
)

const defaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func main() {
	cfg := Config{}
	flag.IntVar(&cfg.Customers, "customers", 10000, "customers to start a journey for, per measurement")
	flag.IntVar(&cfg.Parallel, "parallel", bulk.DefaultParallel, "starts in flight at once (both measurements)")
	flag.IntVar(&cfg.Rounds, "rounds", 2, "baseline/engine pairs, run alternately")
	target := flag.Float64("target", 0.8, "the engine/baseline ratio to reach")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, *target); err != nil {
		fmt.Fprintln(os.Stderr, "startbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg Config, target float64) error {
	if cfg.Customers < 1 || cfg.Parallel < 1 || cfg.Rounds < 1 {
		return errors.New("-customers, -parallel and -rounds must be positive")
	}
	cli := os.Getenv("OUTREACH_TEMPORAL_CLI")
	if cli == "" {
		cli = filepath.Join(".tools", "bin", "temporal")
	}
	if _, err := os.Stat(cli); err != nil {
		return fmt.Errorf("Temporal CLI not found at %s (set OUTREACH_TEMPORAL_CLI or run `make tools`)", cli)
	}
	adminURL := os.Getenv("OUTREACH_PG_ADMIN_URL")
	if adminURL == "" {
		adminURL = defaultAdminURL
	}

	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(sctx, testsuite.DevServerOptions{
		ExistingPath:  cli,
		LogLevel:      "error",
		Stdout:        io.Discard,
		Stderr:        io.Discard,
		ClientOptions: &client.Options{Logger: benchenv.Quiet{}},
	})
	if err != nil {
		return fmt.Errorf("start Temporal dev server: %w", err)
	}
	defer func() { _ = srv.Stop() }()

	scratch, err := benchenv.NewScratch(ctx, adminURL, "bench")
	if err != nil {
		return err
	}
	defer scratch.Close()
	loadStart := time.Now()
	if err := LoadCustomers(ctx, scratch.Pool, cfg.Customers); err != nil {
		return err
	}
	fmt.Printf("start benchmark: %d customers (loaded with COPY in %.2fs), parallel %d, %d rounds, Temporal dev server at %s\n",
		cfg.Customers, time.Since(loadStart).Seconds(), cfg.Parallel, cfg.Rounds, srv.FrontendHostPort())

	sum, err := Run(ctx, os.Stdout, srv.Client(), scratch.Pool, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("baseline %.0f starts/s, engine %.0f journeys started/s, ratio %.2f (target >= %.2f)\n",
		sum.Baseline.Rate(), sum.Engine.Rate(), sum.Ratio(), target)
	if sum.Baseline.Failed+sum.Engine.Failed > 0 {
		return fmt.Errorf("%d baseline and %d engine starts failed", sum.Baseline.Failed, sum.Engine.Failed)
	}
	if sum.Ratio() < target {
		fmt.Println("below target")
	}
	return nil
}
