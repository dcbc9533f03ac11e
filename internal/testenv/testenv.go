// Package testenv gives integration tests the real components: a Temporal
// dev server started from the pinned CLI binary (never downloaded), and a
// PostgreSQL schema of their own with the engine's migrations applied.
//
// Without the binary or a reachable Postgres the tests skip, unless
// OUTREACH_REQUIRE_INTEGRATION=1 (as `make test` and CI set it), where they fail.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/outreach-engine/outreach/internal/store"
	"github.com/outreach-engine/outreach/internal/visibility"
)

const defaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("OUTREACH_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (set OUTREACH_REQUIRE_INTEGRATION=1 to make this a failure; `make test` does)")
}

// Integration skips the test under -short.
func Integration(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Temporal and Postgres")
	}
}

// TemporalCLI returns the path of the pinned Temporal CLI binary.
func TemporalCLI(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("OUTREACH_TEMPORAL_CLI"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".tools", "bin", "temporal")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// Temporal starts an in-memory Temporal dev server for this test, with the
// journeys' search attributes registered, and returns a client of it; both
// are stopped when the test ends.
func Temporal(t testing.TB) client.Client {
	t.Helper()
	return TemporalServer(t).Client()
}

// TemporalServer is Temporal for tests that dial their own clients (with a
// data converter, say): it returns the server, stopped when the test ends.
func TemporalServer(t testing.TB) *testsuite.DevServer {
	t.Helper()
	// Journeys upsert these; an unregistered one fails the workflow task.
	return startDevServer(t, visibility.Attributes())
}

// BareTemporalServer starts a dev server with no custom search attributes,
// for tests of registering them.
func BareTemporalServer(t testing.TB) *testsuite.DevServer {
	t.Helper()
	return startDevServer(t, temporal.SearchAttributes{})
}

func startDevServer(t testing.TB, attrs temporal.SearchAttributes) *testsuite.DevServer {
	t.Helper()
	Integration(t)
	path := TemporalCLI(t)
	if _, err := os.Stat(path); err != nil {
		unavailable(t, "Temporal CLI not found at %s: run `make tools`", path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var logs io.Writer = io.Discard
	if os.Getenv("OUTREACH_TEST_SERVER_LOGS") == "1" {
		logs = os.Stderr
	}
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     path,
		LogLevel:         "error",
		SearchAttributes: attrs,
		// One partition per task queue: a queue's rate limit is then held
		// by one matcher, as tests of provider rate limits expect.
		ExtraArgs: []string{
			"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
			"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
		},
		Stdout: logs,
		Stderr: logs,
		ClientOptions: &client.Options{
			Logger: quietLogger{},
		},
	})
	if err != nil {
		t.Fatalf("start Temporal dev server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// QuietLogger is a Temporal client logger that drops everything, for
// clients that tests dial themselves.
func QuietLogger() log.Logger { return quietLogger{} }

var unsafeIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// Postgres returns a pool whose search_path is a new schema of its own, with
// every migration applied. The schema is dropped when the test ends.
func Postgres(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, _ := PostgresURL(t)
	return pool
}

// PostgresURL is Postgres, and also returns a connection URL for the same
// schema, for code under test that connects by itself (the CLI, the worker).
func PostgresURL(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	Integration(t)
	adminURL := os.Getenv("OUTREACH_PG_ADMIN_URL")
	if adminURL == "" {
		adminURL = defaultAdminURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		unavailable(t, "PostgreSQL not reachable at %s: %v", redact(adminURL), err)
	}
	defer admin.Close(ctx)

	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := unsafeIdent.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	schema := "t_" + name + "_" + hex.EncodeToString(suffix)
	if _, err := admin.Exec(ctx, "create schema "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		conn, err := pgx.Connect(cctx, adminURL)
		if err != nil {
			t.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(cctx)
		if _, err := conn.Exec(cctx, "drop schema "+pgx.Identifier{schema}.Sanitize()+" cascade"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})

	cfg, err := pgxpool.ParseConfig(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = 8
	pool, err := store.OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := store.Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return pool, withSearchPath(adminURL, schema)
}

func withSearchPath(url, schema string) string {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}

func redact(url string) string {
	if at := strings.LastIndex(url, "@"); at > 0 {
		if scheme := strings.Index(url, "://"); scheme > 0 && scheme < at {
			return url[:scheme+3] + "…" + url[at:]
		}
	}
	return url
}

type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
