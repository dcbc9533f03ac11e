// Package workerapp wires the engine's workers: one for journey workflows and
// one per channel's delivery queue, sharing one Activities value.
package workerapp

import (
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
	"github.com/outreach-engine/outreach/internal/store"
	"github.com/outreach-engine/outreach/workflows"
)

// Workers is the set of Temporal workers of one engine process.
type Workers struct {
	all []worker.Worker
}

// New creates (but does not start) the workers. stopTimeout is how long a
// stopping worker waits for running activities.
func New(c client.Client, acts *activities.Activities, stopTimeout time.Duration) *Workers {
	opts := worker.Options{WorkerStopTimeout: stopTimeout}
	ws := &Workers{}
	jw := worker.New(c, workflows.TaskQueue, opts)
	jw.RegisterWorkflowWithOptions(workflows.Journey, workflow.RegisterOptions{Name: "Journey"})
	jw.RegisterWorkflowWithOptions(workflows.CallTask, workflow.RegisterOptions{Name: workflows.CallTaskWorkflowName})
	jw.RegisterActivity(acts)
	ws.all = append(ws.all, jw)
	for _, ch := range channel.All {
		dw := worker.New(c, workflows.DeliveryQueue(ch), opts)
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

	c, err := cfg.Dial(logger)
	if err != nil {
		return err
	}
	defer c.Close()

	var senders map[channel.Name]channel.Sender
	switch cfg.DeliveryMode {
	case "sandbox":
		senders = sandbox.Senders(pool)
	default:
		return fmt.Errorf("delivery mode %q is not supported", cfg.DeliveryMode)
	}
	ws := New(c, &activities.Activities{DB: pool, Senders: senders}, cfg.ShutdownGrace)
	if err := ws.Start(); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	stopDesk, err := serveDesk(cfg, pool, c, logger)
	if err != nil {
		ws.Stop()
		return err
	}
	defer stopDesk()
	logger.Info("worker running", "task_queue", workflows.TaskQueue, "namespace", cfg.TemporalNamespace, "delivery", cfg.DeliveryMode)
	<-ctx.Done()
	logger.Info("worker draining", "grace", cfg.ShutdownGrace.String())
	ws.Stop()
	logger.Info("worker stopped")
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
