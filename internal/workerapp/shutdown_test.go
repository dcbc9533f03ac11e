package workerapp_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/workflows"
)

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/outreach-engine/outreach/worker")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// databaseURL is the URL of the test's own schema, for a separate process.
func databaseURL(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	u, err := url.Parse(pool.Config().ConnString())
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", pool.Config().ConnConfig.RuntimeParams["search_path"])
	u.RawQuery = q.Encode()
	return u.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func seed(t *testing.T, pool *pgxpool.Pool, id string) customer.Customer {
	t.Helper()
	c := customer.Customer{
		ID: id, Name: "Katherine Johnson", Email: id + "@example.org", Phone: "+15550100999",
		TimeZone: "America/New_York", Consents: map[channel.Name]bool{channel.Email: true},
	}
	c.Normalize()
	require.NoError(t, c.Validate())
	require.NoError(t, customer.Upsert(context.Background(), pool, c))
	return c
}

func oneEmail() journey.Definition {
	return journey.Definition{
		Name: "one-email", Version: 1,
		Steps:     []journey.Step{{ID: "hello", Kind: journey.StepSend, Channel: channel.Email, Intent: channel.Transactional, Template: "hello"}},
		Templates: map[string]journey.Template{"hello": {Subject: "Hello {{.FirstName}}", Body: "Hi {{.FirstName}}."}},
	}
}

func start(t *testing.T, c client.Client, customerID string) client.WorkflowRun {
	t.Helper()
	def := oneEmail()
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.WorkflowID(def.Name, customerID), TaskQueue: workflows.TaskQueue,
	}, workflows.Journey, workflows.JourneyInput{CustomerID: customerID, Journey: def})
	require.NoError(t, err)
	return run
}

// TestWorkerBinaryServesOpsAndDrainsOnSIGTERM runs the real worker binary:
// its ops server answers probes and exposes the touch counter, and SIGTERM
// lets a send that is in flight finish before the process exits 0 within
// the grace period.
func TestWorkerBinaryServesOpsAndDrainsOnSIGTERM(t *testing.T) {
	pool := testenv.Postgres(t)
	srv := testenv.TemporalServer(t)
	c := srv.Client()
	bin := buildWorker(t)
	ops := "http://" + freeAddr(t)
	const grace = 20 * time.Second

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"TEMPORAL_ADDRESS="+srv.FrontendHostPort(), "TEMPORAL_NAMESPACE=default",
		"DATABASE_URL="+databaseURL(t, pool), "OUTREACH_OPS_ADDR="+ops[len("http://"):],
		"OUTREACH_SHUTDOWN_GRACE="+grace.String(), "LOG_LEVEL=info",
		"OUTREACH_PAYLOAD_KEYS=", "OUTREACH_CODEC_AUTH_TOKEN=", "TEMPORAL_API_KEY=", "TEMPORAL_TLS_CERT=", "TEMPORAL_TLS_KEY=")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("worker output:\n%s", logs.String())
		}
	})

	require.Eventually(t, func() bool {
		code, _, err := httpGet(ops + "/readyz")
		return err == nil && code == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "the worker never became ready")
	code, body, err := httpGet(ops + "/livez")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code, body)

	// A journey runs through the binary and shows in the engine's series.
	first := seed(t, pool, "c-first")
	require.NoError(t, start(t, c, first.ID).Get(context.Background(), nil))
	require.Eventually(t, func() bool {
		_, body, err := httpGet(ops + "/metrics")
		return err == nil && bytes.Contains([]byte(body), []byte(`outreach_touches_total{channel="email",outcome="sent",rule=""} 1`))
	}, 5*time.Second, 100*time.Millisecond)
	_, metrics, err := httpGet(ops + "/metrics")
	require.NoError(t, err)
	assert.Contains(t, metrics, "temporal_workflow_task_queue_poll_succeed")
	assert.NotContains(t, metrics, first.Email)
	assert.NotContains(t, metrics, "Katherine")

	// Hold the sandbox outbox so that the next send is in flight when
	// SIGTERM arrives.
	ctx := context.Background()
	lockConn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer lockConn.Release()
	tx, err := lockConn.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, "lock table sandbox_outbox in access exclusive mode")
	require.NoError(t, err)

	second := seed(t, pool, "c-second")
	start(t, c, second.ID)
	require.Eventually(t, func() bool {
		var waiting int
		err := pool.QueryRow(ctx, "select count(*) from pg_locks where not granted").Scan(&waiting)
		return err == nil && waiting > 0
	}, 15*time.Second, 50*time.Millisecond, "the send never started")

	sent := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		t.Fatalf("the worker exited (%v) with a send in flight", err)
	case <-time.After(time.Second):
	}
	require.NoError(t, tx.Rollback(ctx)) // the provider answers

	select {
	case err := <-exited:
		require.NoError(t, err, "the worker must exit 0 after draining")
		assert.Less(t, time.Since(sent), grace)
	case <-time.After(grace + 5*time.Second):
		t.Fatalf("the worker did not exit within the grace period of %s", grace)
	}
	touches, err := ledger.ForCustomer(ctx, pool, second.ID)
	require.NoError(t, err)
	require.Len(t, touches, 1)
	assert.Equal(t, ledger.Sent, touches[0].Status, "the in-flight send finished during the drain")

	out := logs.String()
	assert.Contains(t, out, "worker draining")
	assert.Contains(t, out, "worker stopped")
	for _, pii := range []string{"Katherine", first.Email, second.Email, first.Phone} {
		assert.NotContains(t, out, pii, "worker logs hold customer data")
	}
}
