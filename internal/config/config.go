// Package config owns the engine's configuration: every setting comes from
// the environment (secrets included, and never logged), with defaults that
// work on a developer machine.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/internal/channel"
)

// Config is the engine's configuration.
type Config struct {
	TemporalAddress   string
	TemporalNamespace string
	DatabaseURL       string
	DeliveryMode      string
	LogLevel          slog.Level
	ShutdownGrace     time.Duration
	// WorkflowCacheSize is how many workflow executions the worker keeps in
	// memory (the sticky cache); it bounds memory, not the number of
	// journeys waiting on timers.
	WorkflowCacheSize int
	// ThrottlePolicy is the path of the throttle policy file ("" for the
	// embedded defaults).
	ThrottlePolicy string
	// DeliveryRates caps Deliver activities per second per channel, across
	// every worker (absent: no cap).
	DeliveryRates map[channel.Name]float64
	// Live holds provider credentials and the webhook server (providers.go).
	Live Live
	// Ops holds the ops server, payload encryption and Temporal connection settings (ops.go).
	Ops Ops
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
	{"OUTREACH_DELIVERY_MODE", "sandbox", "how messages leave: sandbox records them in Postgres, live sends through the providers"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
	{"OUTREACH_SHUTDOWN_GRACE", "30s", "how long a stopping worker lets running activities finish"},
	{"OUTREACH_WORKFLOW_CACHE_SIZE", "1000", "workflow executions a worker keeps in memory; bounds its memory however many journeys wait (an evicted one is replayed from its history when it wakes)"},
	{"OUTREACH_THROTTLE_POLICY", "", "path of the throttle policy file (YAML or JSON); empty: the embedded defaults"},
	{"OUTREACH_DELIVERY_RATES", "", "provider rate limits in sends per second per channel, held across all workers, e.g. email=50,sms=10"},
	{"SENDGRID_API_KEY", "", "SendGrid API key (secret)"},
	{"SENDGRID_BASE_URL", "https://api.sendgrid.com", "SendGrid API base URL"},
	{"SENDGRID_FROM_EMAIL", "", "sender address of email"},
	{"SENDGRID_FROM_NAME", "", "sender name of email"},
	{"SENDGRID_SANDBOX_MODE", "false", "true: SendGrid validates but does not deliver (mail_settings.sandbox_mode)"},
	{"SENDGRID_WEBHOOK_PUBLIC_KEY", "", "base64 ECDSA public key of the signed Event Webhook"},
	{"TWILIO_ACCOUNT_SID", "", "Twilio account SID"},
	{"TWILIO_AUTH_TOKEN", "", "Twilio auth token (secret; also verifies webhooks)"},
	{"TWILIO_FROM_NUMBER", "", "E.164 number SMS and calls come from"},
	{"TWILIO_BASE_URL", "https://api.twilio.com", "Twilio REST API base URL"},
	{"POSTAL_API_KEY", "", "print-and-mail API key (secret)"},
	{"POSTAL_BASE_URL", "https://api.lob.com", "print-and-mail API base URL"},
	{"POSTAL_FROM_ADDRESS_ID", "", "return address id stored at the print-and-mail house"},
	{"OUTREACH_OPS_ADDR", ":9090", "the worker's ops HTTP server: /metrics, /livez, /readyz and the codec endpoint"},
	{"OUTREACH_PAYLOAD_KEYS", "", "payload encryption keys id:base64key,... (32-byte AES keys; the first encrypts, all decrypt; empty: payloads are not encrypted)"},
	{"OUTREACH_CODEC_AUTH_TOKEN", "", "bearer token of the codec endpoint /codec (at least 16 characters; empty: the endpoint is off)"},
	{"OUTREACH_CODEC_CORS_ORIGINS", "http://localhost:8233", "comma-separated Temporal UI origins allowed to call the codec endpoint"},
	{"TEMPORAL_API_KEY", "", "API key for Temporal Cloud (turns TLS on)"},
	{"TEMPORAL_TLS_CERT", "", "path of the mTLS client certificate (PEM), with TEMPORAL_TLS_KEY"},
	{"TEMPORAL_TLS_KEY", "", "path of the mTLS client key (PEM), with TEMPORAL_TLS_CERT"},
	{"TEMPORAL_TLS_CA", "", "path of a CA bundle (PEM) for the Temporal server; empty: the system roots"},
	{"TEMPORAL_TLS_SERVER_NAME", "", "server name to verify, when it differs from TEMPORAL_ADDRESS's host"},
	{"OUTREACH_HTTP_ADDR", "", "host:port of the public HTTP server (preference center, one-click unsubscribe, provider webhooks); empty: no server"},
	{"OUTREACH_PUBLIC_URL", "", "public base URL of that server: signed links in messages, provider callbacks and webhook signatures"},
	{"OUTREACH_LINK_SECRET", "", "secret (16+ bytes) that signs customer links and one-click unsubscribe; empty: no links, no preference center (required in live delivery). Never logged"},
	{"OUTREACH_LINK_SECRET_PREVIOUS", "", "the previous link secret, still accepted during a rotation"},
	{"OUTREACH_LINK_TTL", "2160h", "how long a link in a message works"},
	{"OUTREACH_BRAND_NAME", "", "company name on the preference pages and email footer"},
	{"OUTREACH_BRAND_SENDER", "", "who messages come from, shown on the preference pages"},
	{"OUTREACH_PRIVACY_PROMISE", "", "the short privacy promise on \"what we know about you\" (a plain default is used when empty)"},
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
	if c.WorkflowCacheSize, err = strconv.Atoi(env("OUTREACH_WORKFLOW_CACHE_SIZE")); err != nil || c.WorkflowCacheSize < 1 {
		return c, fmt.Errorf("OUTREACH_WORKFLOW_CACHE_SIZE: %q is not a positive number of workflows", env("OUTREACH_WORKFLOW_CACHE_SIZE"))
	}
	c.ThrottlePolicy = env("OUTREACH_THROTTLE_POLICY")
	if c.DeliveryRates, err = ParseRates(env("OUTREACH_DELIVERY_RATES")); err != nil {
		return c, fmt.Errorf("OUTREACH_DELIVERY_RATES: %w", err)
	}
	if c.Ops, err = loadOps(); err != nil {
		return c, err
	}
	if c.DeliveryMode != "sandbox" && c.DeliveryMode != "live" {
		return c, fmt.Errorf("OUTREACH_DELIVERY_MODE: %q is not supported (want sandbox or live)", c.DeliveryMode)
	}
	live, err := loadLive(c.DeliveryMode == "live")
	c.Live = live
	return c, err
}

// ParseRates parses "email=50,sms=10" into sends per second per channel.
func ParseRates(s string) (map[channel.Name]float64, error) {
	rates := map[channel.Name]float64{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not channel=rate", part)
		}
		ch, err := channel.ParseName(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		r, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive number of sends per second", ch, val)
		}
		rates[ch] = r
	}
	return rates, nil
}

// Logger returns a JSON logger at the configured level.
func (c Config) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
}

// Dial connects a Temporal client (TLS, API key and payload encryption as
// configured; see ClientOptions).
func (c Config) Dial(logger *slog.Logger) (client.Client, error) {
	opts, err := c.ClientOptions(logger)
	if err != nil {
		return nil, err
	}
	cl, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", c.TemporalAddress, err)
	}
	return cl, nil
}
