// Package workerapp wires the engine's workers: one for journey workflows and
// one per channel's delivery queue, sharing one Activities value.
package workerapp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/config"
	"github.com/outreach-engine/outreach/internal/opsserver"
	"github.com/outreach-engine/outreach/internal/store"
	"github.com/outreach-engine/outreach/internal/throttle"
	"github.com/outreach-engine/outreach/workflows"
)

// Workers is the set of Temporal workers of one engine process.
type Workers struct {
	all []worker.Worker
}

// Option adjusts the workers New creates.
type Option func(*options)

type options struct {
	rates map[channel.Name]float64
}

// WithDeliveryRates caps each channel's Deliver activities per second. The
// cap is the task queue's (TaskQueueActivitiesPerSecond), enforced by the
// Temporal server, so it holds across every worker of the deployment.
func WithDeliveryRates(rates map[channel.Name]float64) Option {
	return func(o *options) { o.rates = rates }
}

// New creates (but does not start) the workers. stopTimeout is how long a
// stopping worker waits for running activities.
func New(c client.Client, acts *activities.Activities, stopTimeout time.Duration, opt ...Option) *Workers {
	var o options
	for _, f := range opt {
		f(&o)
	}
	opts := worker.Options{WorkerStopTimeout: stopTimeout}
	ws := &Workers{}
	jw := worker.New(c, workflows.TaskQueue, opts)
	jw.RegisterWorkflowWithOptions(workflows.Journey, workflow.RegisterOptions{Name: "Journey"})
	jw.RegisterWorkflowWithOptions(workflows.CallTask, workflow.RegisterOptions{Name: workflows.CallTaskWorkflowName})
	jw.RegisterActivity(acts)
	ws.all = append(ws.all, jw)
	for _, ch := range channel.All {
		dopts := opts
		dopts.TaskQueueActivitiesPerSecond = o.rates[ch]
		dw := worker.New(c, workflows.DeliveryQueue(ch), dopts)
		dw.RegisterActivity(acts)
		ws.all = append(ws.all, dw)
	}
	return ws
}

// Start starts every worker, stopping those already started if one fails.
func (ws *Workers) Start() error {
	for i, w := range ws.all {
		if err := w.Start(); err != nil {
			for _, started := range ws.all[:i] {
				started.Stop()
			}
			return err
		}
	}
	return nil
}

// Stop stops every worker, letting running activities finish within the stop timeout.
func (ws *Workers) Stop() {
	for _, w := range ws.all {
		w.Stop()
	}
}

// Run is the worker process: connect, migrate, serve until ctx is done, drain.
func Run(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	// The cache is the process's, shared by every worker: set it before
	// any is created.
	worker.SetStickyWorkflowCacheSize(cfg.WorkflowCacheSize)
	policy, err := throttle.LoadFile(cfg.ThrottlePolicy)
	if err != nil {
		return err
	}
	logger.Info("throttle policy loaded", "file", cmp.Or(cfg.ThrottlePolicy, "embedded defaults"))
	pool, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := store.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	logger.Info("schema ready", "applied", applied)

	metrics := opsserver.NewMetrics()
	c, flushMetrics, err := dial(cfg, logger, metrics)
	if err != nil {
		return err
	}
	defer flushMetrics()
	defer c.Close()

	// The web comes first: its footer gives live email its unsubscribe links.
	webCfg, err := config.LoadWeb()
	if err != nil {
		return err
	}
	web, err := NewWeb(webCfg, pool, c, logger)
	if err != nil {
		return err
	}
	var senders map[channel.Name]channel.Sender
	switch cfg.DeliveryMode {
	case "sandbox":
		senders = sandbox.Senders(pool)
	case "live":
		if senders, err = LiveSenders(cfg.Live, web.Footer); err != nil {
			return err
		}
	default:
		return fmt.Errorf("delivery mode %q is not supported", cfg.DeliveryMode)
	}
	stopOps, err := startOps(cfg, logger, metrics, pool, c)
	if err != nil {
		return err
	}
	defer func() { _ = stopOps() }()
	if cfg.DeliveryMode == "live" {
		// Provider webhooks share the one public HTTP server.
		web.Mux.Handle("/webhooks/", WebhookHandler(cfg.Live, pool, c, logger))
	}
	acts := &activities.Activities{DB: pool, Senders: senders, Throttle: policy, Metrics: metrics}
	if web.Footer != nil {
		acts.Links = web.Footer
	}
	ws := New(c, acts, cfg.ShutdownGrace, WithDeliveryRates(cfg.DeliveryRates))
	if err := ws.Start(); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	if webCfg.HTTPAddr != "" {
		stopHTTP, err := StartHTTP(webCfg.HTTPAddr, web.Mux, logger)
		if err != nil {
			ws.Stop()
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
			defer cancel()
			if err := stopHTTP(sctx); err != nil {
				logger.Error("http server stop", "error", err)
			}
		}()
	}
	// The call desk is for agents only: it has its own address, which
	// deployments keep off the public network.
	stopDesk, err := serveDesk(cfg, pool, c, logger)
	if err != nil {
		ws.Stop()
		return err
	}
	defer stopDesk()
	logger.Info("worker running", "task_queue", workflows.TaskQueue, "namespace", cfg.TemporalNamespace, "delivery", cfg.DeliveryMode,
		"ops_addr", cfg.Ops.Addr, "http_addr", webCfg.HTTPAddr, "payload_encryption", cfg.Ops.Codec != nil)
	<-ctx.Done()
	logger.Info("worker draining", "grace", cfg.ShutdownGrace.String())
	ws.Stop()
	logger.Info("worker stopped")
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
