package workerapp

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/config"
)

func TestWebWithoutSecretHasNoLinksAndNoPages(t *testing.T) {
	w, err := NewWeb(config.Web{PublicURL: ""}, nil, nil, slog.Default())
	require.NoError(t, err)
	assert.Nil(t, w.Footer)
	rec := httptest.NewRecorder()
	w.Mux.ServeHTTP(rec, httptest.NewRequest("GET", "/assets/prefs.css", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

func TestWebWithSecretMountsThePreferencePages(t *testing.T) {
	w, err := NewWeb(config.Web{PublicURL: "https://prefs.example.com", LinkSecret: []byte("0123456789abcdef0123"), LinkTTL: time.Hour},
		nil, nil, slog.Default())
	require.NoError(t, err)
	require.NotNil(t, w.Footer)
	rec := httptest.NewRecorder()
	w.Mux.ServeHTTP(rec, httptest.NewRequest("GET", "/assets/prefs.css", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'none'")
	rec = httptest.NewRecorder()
	w.Mux.ServeHTTP(rec, httptest.NewRequest("GET", "/p/not-a-token", nil))
	assert.Equal(t, http.StatusForbidden, rec.Code)

	_, err = NewWeb(config.Web{LinkSecret: []byte("short")}, nil, nil, slog.Default())
	assert.ErrorContains(t, err, "at least 16 bytes")
}

func TestStartHTTPServesAndStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	_, err = StartHTTP(addr, http.NotFoundHandler(), slog.Default())
	assert.ErrorContains(t, err, "OUTREACH_HTTP_ADDR "+addr, "a busy port fails at start")
	require.NoError(t, ln.Close())

	stop, err := StartHTTP(addr, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("up")) }), slog.Default())
	require.NoError(t, err)
	resp, err := http.Get("http://" + addr + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, stop(ctx))
	_, err = http.Get("http://" + addr + "/")
	assert.Error(t, err, "stopped")
}
