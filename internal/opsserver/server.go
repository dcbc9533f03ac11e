package opsserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports whether one dependency answers.
type Check func(ctx context.Context) error

// Options configure the ops server.
type Options struct {
	Metrics *Metrics
	// Checks are the dependencies /readyz and /livez look at, by name
	// (e.g. "temporal", "postgres").
	Checks map[string]Check
	// CheckTimeout bounds each check (default 2s).
	CheckTimeout time.Duration
	// LiveGrace is how long checks may keep failing before /livez fails too
	// and the pod is restarted (default 2m). Until then a lost dependency
	// only takes the pod out of service (/readyz).
	LiveGrace time.Duration
	// Codec, when set, serves the remote codec protocol under /codec/.
	Codec http.Handler
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
}

// Server is the ops HTTP handler.
type Server struct {
	opts   Options
	mux    *http.ServeMux
	mu     sync.Mutex
	lastOK time.Time
}

// New builds the handler: /metrics, /livez, /readyz and, when configured, /codec/.
func New(opts Options) *Server {
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = 2 * time.Second
	}
	if opts.LiveGrace <= 0 {
		opts.LiveGrace = 2 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), lastOK: opts.Now()}
	if opts.Metrics != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Metrics.Registry, promhttp.HandlerOpts{}))
	}
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /livez", s.livez)
	if opts.Codec != nil {
		s.mux.Handle("/codec/", opts.Codec)
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// report is the JSON body of /readyz and /livez: each check's result.
type report struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// run runs every check in parallel and returns the failed ones' names.
func (s *Server) run(ctx context.Context) (report, []string) {
	rep := report{Status: "ok", Checks: map[string]string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var failed []string
	for name, check := range s.opts.Checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, s.opts.CheckTimeout)
			defer cancel()
			err := check(cctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				// Only the kind of failure: driver errors may quote hosts or users.
				rep.Checks[name] = "failing"
				if errors.Is(err, context.DeadlineExceeded) {
					rep.Checks[name] = "timeout"
				}
				failed = append(failed, name)
				return
			}
			rep.Checks[name] = "ok"
		})
	}
	wg.Wait()
	sort.Strings(failed)
	now := s.opts.Now()
	s.mu.Lock()
	if len(failed) == 0 {
		s.lastOK = now
	}
	s.mu.Unlock()
	return rep, failed
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	rep, failed := s.run(r.Context())
	code := http.StatusOK
	if len(failed) > 0 {
		rep.Status, code = "unavailable", http.StatusServiceUnavailable
	}
	writeJSON(w, code, rep)
}

// livez fails only when the dependencies have been failing for longer than
// LiveGrace: a restart helps a process stuck with dead connections, not one
// whose database is briefly away.
func (s *Server) livez(w http.ResponseWriter, r *http.Request) {
	rep, failed := s.run(r.Context())
	code := http.StatusOK
	if len(failed) > 0 {
		s.mu.Lock()
		down := s.opts.Now().Sub(s.lastOK)
		s.mu.Unlock()
		rep.Status = "degraded"
		if down > s.opts.LiveGrace {
			rep.Status, code = "failing", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, rep)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Serve listens on addr and serves h until ctx is done, then shuts down.
func Serve(ctx context.Context, addr string, h http.Handler, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ServeListener(ctx, ln, h, logger)
}

// ServeListener is Serve on an open listener.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("ops server listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
