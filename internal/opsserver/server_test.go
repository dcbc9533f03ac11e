package opsserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/ledger"
)

// flaky is a dependency check whose result the test sets.
type flaky struct {
	mu  sync.Mutex
	err error
}

func (f *flaky) set(err error) { f.mu.Lock(); f.err = err; f.mu.Unlock() }
func (f *flaky) check(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func get(t *testing.T, h http.Handler, path string) (int, report) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var rep report
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &rep), rec.Body.String())
	return rec.Code, rep
}

func TestProbesFollowDependencies(t *testing.T) {
	db, temporal := &flaky{}, &flaky{}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var clock sync.Mutex
	s := New(Options{
		Checks:    map[string]Check{"postgres": db.check, "temporal": temporal.check},
		LiveGrace: time.Minute,
		Now:       func() time.Time { clock.Lock(); defer clock.Unlock(); return now },
	})
	advance := func(d time.Duration) { clock.Lock(); now = now.Add(d); clock.Unlock() }

	code, rep := get(t, s, "/readyz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, map[string]string{"postgres": "ok", "temporal": "ok"}, rep.Checks)

	db.set(errors.New("dial tcp 10.0.0.5:5432: password authentication failed for user outreach"))
	code, rep = get(t, s, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "failing", rep.Checks["postgres"])
	assert.Equal(t, "ok", rep.Checks["temporal"])

	// A short outage takes the pod out of service but does not restart it.
	advance(30 * time.Second)
	code, rep = get(t, s, "/livez")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "degraded", rep.Status)

	advance(31 * time.Second)
	code, rep = get(t, s, "/livez")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "failing", rep.Status)

	db.set(nil)
	code, _ = get(t, s, "/livez")
	assert.Equal(t, http.StatusOK, code)
	code, _ = get(t, s, "/readyz")
	assert.Equal(t, http.StatusOK, code)
}

func TestProbesTimeOutHangingChecks(t *testing.T) {
	s := New(Options{
		Checks:       map[string]Check{"temporal": func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		CheckTimeout: 50 * time.Millisecond,
	})
	start := time.Now()
	code, rep := get(t, s, "/readyz")
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "timeout", rep.Checks["temporal"])
}

func TestMetricsExposeTouchesAndRuntime(t *testing.T) {
	m := NewMetrics()
	m.Touch(channel.Email, ledger.Sent, "")
	m.Touch(channel.Email, ledger.Sent, "")
	m.Touch(channel.SMS, ledger.Blocked, "consent.sms")
	handler, stop := m.SDKHandler()
	handler.WithTags(map[string]string{"task_queue": "q"}).Counter("temporal_request").Inc(3)
	stop() // flushes the SDK's series into the registry

	rec := httptest.NewRecorder()
	New(Options{Metrics: m}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	assert.Contains(t, body, `outreach_touches_total{channel="email",outcome="sent",rule=""} 2`)
	assert.Contains(t, body, `outreach_touches_total{channel="sms",outcome="blocked",rule="consent.sms"} 1`)
	assert.Contains(t, body, `temporal_request{task_queue="q"} 3`)
	assert.Contains(t, body, "go_goroutines")
	assert.Contains(t, body, "process_resident_memory_bytes")
}

func TestCodecIsMountedOnlyWhenConfigured(t *testing.T) {
	rec := httptest.NewRecorder()
	New(Options{}).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/codec/decode", strings.NewReader("{}")))
	assert.Equal(t, http.StatusNotFound, rec.Code)

	var hit bool
	rec = httptest.NewRecorder()
	New(Options{Codec: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true })}).
		ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/codec/decode", strings.NewReader("{}")))
	assert.True(t, hit)
}

func BenchmarkTouch(b *testing.B) {
	m := NewMetrics()
	for b.Loop() {
		m.Touch(channel.Email, ledger.Sent, "")
	}
}
