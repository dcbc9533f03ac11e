package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/config"
	"github.com/outreach-engine/outreach/internal/testenv"
)

func TestTemporalSetupRegistersSearchAttributesOnce(t *testing.T) {
	t.Parallel()
	srv := testenv.BareTemporalServer(t)
	cfg, err := config.Load()
	require.NoError(t, err)
	cfg.TemporalAddress, cfg.TemporalNamespace = srv.FrontendHostPort(), "default"
	var out, errOut bytes.Buffer
	app := &App{Config: cfg, Out: &out, Err: &errOut, Logger: setupTestLogger()}
	defer app.Close()

	require.NoError(t, Run(context.Background(), app, []string{"temporal", "setup"}))
	assert.Equal(t, "registered search attributes on namespace default: CustomerId, JourneyName, JourneyStep, JourneyVersion, LastChannel, Outcome\n", out.String())

	out.Reset()
	require.NoError(t, Run(context.Background(), app, []string{"temporal", "setup"}))
	assert.Equal(t, "search attributes of namespace default are up to date\n", out.String())
}

func TestTemporalSetupRejectsArguments(t *testing.T) {
	var errOut bytes.Buffer
	app := &App{Out: &bytes.Buffer{}, Err: &errOut, Logger: setupTestLogger()}
	err := Run(context.Background(), app, []string{"temporal", "setup", "extra"})
	assert.ErrorIs(t, err, ErrUsage)
}

func setupTestLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
