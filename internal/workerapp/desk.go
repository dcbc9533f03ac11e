package workerapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/internal/config"
	"github.com/outreach-engine/outreach/internal/web/calldesk"
)

// serveDesk serves the call desk on cfg.DeskAddr until the returned stop
// function is called. With no address configured the desk is off.
func serveDesk(cfg config.Config, pool *pgxpool.Pool, c client.Client, logger *slog.Logger) (stop func(), err error) {
	if cfg.DeskAddr == "" {
		return func() {}, nil
	}
	agents, err := calldesk.ParseAgents(cfg.DeskAgents)
	if err != nil {
		return nil, fmt.Errorf("OUTREACH_DESK_AGENTS: %w", err)
	}
	desk, err := calldesk.New(calldesk.Options{
		DB: pool, Temporal: c, Agents: agents, Secret: []byte(cfg.DeskSecret), Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.DeskAddr)
	if err != nil {
		return nil, fmt.Errorf("call desk on %s: %w", cfg.DeskAddr, err)
	}
	srv := &http.Server{Handler: desk, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("call desk stopped", "error", err)
		}
	}()
	logger.Info("call desk serving", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
