// Package config owns the engine's configuration: every setting comes from
// the environment (secrets included, and never logged), with defaults that
// work on a developer machine.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// Config is the engine's configuration.
type Config struct {
	TemporalAddress   string
	TemporalNamespace string
	DatabaseURL       string
	DeliveryMode      string
	LogLevel          slog.Level
	ShutdownGrace     time.Duration
	// Call desk and human-call routing (see docs/calldesk.md).
	DeskAddr        string
	DeskAgents      string
	DeskSecret      string
	HumanCallRoutes string
}

// Setting documents one environment variable; the README's table is made from the same list.
type Setting struct {
	Env, Default, Meaning string
}

// Settings lists every environment variable the engine reads.
var Settings = []Setting{
	{"TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port"},
	{"TEMPORAL_NAMESPACE", "default", "Temporal namespace"},
	{"DATABASE_URL", "postgres://postgres@127.0.0.1:5432/outreach?sslmode=disable", "PostgreSQL connection URL (may hold a password; never logged)"},
	{"OUTREACH_DELIVERY_MODE", "sandbox", "how messages leave: sandbox records them in Postgres"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
	{"OUTREACH_SHUTDOWN_GRACE", "30s", "how long a stopping worker lets running activities finish"},
	{"OUTREACH_DESK_ADDR", "", "host:port where the worker serves the call desk; empty turns the desk off"},
	{"OUTREACH_DESK_AGENTS", "", "call desk agents as name:bcrypt-hash pairs, comma-separated (secret; never logged)"},
	{"OUTREACH_DESK_SECRET", "", "at least 32 random bytes that sign desk sessions and forms (secret; never logged)"},
	{"OUTREACH_HUMAN_CALL_ROUTES", "", "channel/intent pairs that go to a person besides voice/caring, e.g. voice/transactional"},
}

func env(name string) string {
	if v, ok := os.LookupEnv(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	for _, s := range Settings {
		if s.Env == name {
			return s.Default
		}
	}
	return ""
}

// Load reads the configuration from the environment.
func Load() (Config, error) {
	c := Config{
		TemporalAddress:   env("TEMPORAL_ADDRESS"),
		TemporalNamespace: env("TEMPORAL_NAMESPACE"),
		DatabaseURL:       env("DATABASE_URL"),
		DeliveryMode:      env("OUTREACH_DELIVERY_MODE"),
		DeskAddr:          env("OUTREACH_DESK_ADDR"),
		DeskAgents:        env("OUTREACH_DESK_AGENTS"),
		DeskSecret:        env("OUTREACH_DESK_SECRET"),
		HumanCallRoutes:   env("OUTREACH_HUMAN_CALL_ROUTES"),
	}
	if err := c.LogLevel.UnmarshalText([]byte(env("LOG_LEVEL"))); err != nil {
		return c, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	grace, err := time.ParseDuration(env("OUTREACH_SHUTDOWN_GRACE"))
	if err != nil || grace < 0 {
		return c, fmt.Errorf("OUTREACH_SHUTDOWN_GRACE: %q is not a duration such as 30s", env("OUTREACH_SHUTDOWN_GRACE"))
	}
	c.ShutdownGrace = grace
	if c.DeliveryMode != "sandbox" {
		return c, fmt.Errorf("OUTREACH_DELIVERY_MODE: %q is not supported (want sandbox)", c.DeliveryMode)
	}
	return c, nil
}

// Logger returns a JSON logger at the configured level.
func (c Config) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
}

// Dial connects a Temporal client.
func (c Config) Dial(logger *slog.Logger) (client.Client, error) {
	cl, err := client.Dial(client.Options{
		HostPort:  c.TemporalAddress,
		Namespace: c.TemporalNamespace,
		Logger:    tlog.NewStructuredLogger(logger),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", c.TemporalAddress, err)
	}
	return cl, nil
}
