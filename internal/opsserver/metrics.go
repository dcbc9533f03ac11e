// Package opsserver is the worker's operations endpoint: Prometheus metrics
// (the Temporal SDK's and the engine's own), liveness and readiness probes,
// and, when configured, the codec endpoint that lets authorized operators
// read encrypted payloads in the Temporal UI.
package opsserver

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/ledger"
)

// Metrics is the process's metric registry. It holds the Go runtime and
// process collectors, the Temporal SDK's series (temporal_*) and the
// engine's own (outreach_*). Its labels never carry customer data.
type Metrics struct {
	Registry *prometheus.Registry
	touches  *prometheus.CounterVec
}

// NewMetrics creates an empty registry with the engine's series.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		touches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outreach_touches_total",
			Help: "Touches settled by the Deliver activity, by channel, outcome (sent, blocked, failed, ...) and the rule behind a blocked or failed touch.",
		}, []string{"channel", "outcome", "rule"}),
	}
	reg.MustRegister(m.touches)
	return m
}

// Touch counts one settled touch; it implements activities.Metrics.
func (m *Metrics) Touch(ch channel.Name, outcome ledger.Status, rule string) {
	m.touches.WithLabelValues(string(ch), string(outcome), rule).Inc()
}

// SDKHandler returns a Temporal client.MetricsHandler reporting into the
// registry, and a function that flushes and stops it.
func (m *Metrics) SDKHandler() (client.MetricsHandler, func()) {
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer: m.Registry,
		// The SDK reports latencies as timers: histograms aggregate across pods.
		DefaultTimerType: tallyprom.HistogramTimerType,
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	return sdktally.NewMetricsHandler(scope), func() { _ = closer.Close() }
}
