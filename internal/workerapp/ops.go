package workerapp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/internal/codec"
	"github.com/outreach-engine/outreach/internal/config"
	"github.com/outreach-engine/outreach/internal/opsserver"
)

// dial connects the Temporal client with the SDK's metrics reporting into m.
// The returned stop flushes the metrics once the client is closed.
func dial(cfg config.Config, logger *slog.Logger, m *opsserver.Metrics) (client.Client, func(), error) {
	opts, err := cfg.ClientOptions(logger)
	if err != nil {
		return nil, nil, err
	}
	handler, stop := m.SDKHandler()
	opts.MetricsHandler = handler
	c, err := client.Dial(opts)
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
	}
	return c, stop, nil
}

// startOps listens on cfg.Ops.Addr and serves metrics, probes and (when a
// token is configured) the codec endpoint. The returned stop shuts it down.
func startOps(cfg config.Config, logger *slog.Logger, m *opsserver.Metrics, pool *pgxpool.Pool, c client.Client) (func() error, error) {
	var codecHandler http.Handler
	if cfg.Ops.CodecAuthToken != "" {
		h, err := codec.Handler(cfg.Ops.Codec, cfg.Ops.CodecAuthToken, cfg.Ops.CodecCORSOrigins)
		if err != nil {
			return nil, err
		}
		codecHandler = h
	}
	srv := opsserver.New(opsserver.Options{
		Metrics: m,
		Checks: map[string]opsserver.Check{
			"postgres": pool.Ping,
			"temporal": func(ctx context.Context) error {
				_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
				return err
			},
		},
		Codec: codecHandler,
	})
	ln, err := net.Listen("tcp", cfg.Ops.Addr)
	if err != nil {
		return nil, fmt.Errorf("ops server (OUTREACH_OPS_ADDR): %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- opsserver.ServeListener(ctx, ln, srv, logger) }()
	return func() error {
		cancel()
		return <-done
	}, nil
}
