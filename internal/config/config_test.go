package config

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultsWorkOnADeveloperMachine(t *testing.T) {
	for _, s := range Settings {
		t.Setenv(s.Env, "")
	}
	c, err := Load()
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7233", c.TemporalAddress)
	assert.Equal(t, "default", c.TemporalNamespace)
	assert.Equal(t, "sandbox", c.DeliveryMode)
	assert.Equal(t, slog.LevelInfo, c.LogLevel)
	assert.Equal(t, 30*time.Second, c.ShutdownGrace)
	assert.Equal(t, 1000, c.WorkflowCacheSize, "memory is bounded by default")
}

func TestBadValuesAreNamed(t *testing.T) {
	cases := map[string]string{
		"LOG_LEVEL":                    "loud",
		"OUTREACH_SHUTDOWN_GRACE":      "soon",
		"OUTREACH_DELIVERY_MODE":       "carrier-pigeon",
		"OUTREACH_WORKFLOW_CACHE_SIZE": "0",
	}
	for env, val := range cases {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, val)
			_, err := Load()
			require.Error(t, err)
			assert.Contains(t, err.Error(), env)
		})
	}
}

// The README's configuration table lists every setting the engine reads.
func TestReadmeListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	for _, s := range Settings {
		assert.Contains(t, string(readme), "| `"+s.Env+"` |", "README.md has no row for %s", s.Env)
	}
}
