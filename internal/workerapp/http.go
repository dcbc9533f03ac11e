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
	"github.com/outreach-engine/outreach/internal/links"
	webprefs "github.com/outreach-engine/outreach/internal/web/prefs"
)

// Web is the customer-facing side of a worker process: the footer that puts
// signed links into messages, and the handlers the HTTP server mounts.
type Web struct {
	// Footer adds links to messages; nil when links are not configured.
	Footer *links.Footer
	// Mux holds every HTTP handler of the process.
	Mux *http.ServeMux
}

// NewWeb builds the link footer and the preference-center handler from the
// configuration. Without a link secret there are no links and no preference
// pages (the mux is still returned for other handlers).
func NewWeb(cfg config.Web, pool *pgxpool.Pool, c client.Client, logger *slog.Logger) (*Web, error) {
	w := &Web{Mux: http.NewServeMux()}
	if len(cfg.LinkSecret) == 0 {
		return w, nil
	}
	signer, err := links.NewSigner(cfg.LinkSecret, cfg.LinkSecretPrevious)
	if err != nil {
		return nil, err
	}
	signer.TTL = cfg.LinkTTL
	if cfg.PublicURL != "" {
		w.Footer = &links.Footer{Signer: signer, BaseURL: cfg.PublicURL, Brand: cfg.BrandName}
	}
	h := webprefs.New(webprefs.Options{
		DB: pool, Signer: signer, Journeys: c, Logger: logger,
		Brand: webprefs.Brand{Name: cfg.BrandName, Sender: cfg.BrandSender, Promise: cfg.PrivacyPromise},
	})
	for _, p := range []string{"/p/", "/u/", "/assets/prefs.css"} {
		w.Mux.Handle(p, h)
	}
	return w, nil
}

// StartHTTP listens on addr and serves handler in the background. A port
// that cannot be opened fails at once. The returned stop shuts the server
// down, letting requests in flight finish until its context ends.
func StartHTTP(addr string, handler http.Handler, logger *slog.Logger) (stop func(context.Context) error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on OUTREACH_HTTP_ADDR %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	logger.Info("http server listening", "addr", ln.Addr().String())
	return func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}, nil
}
