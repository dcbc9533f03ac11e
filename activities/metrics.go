package activities

import (
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/ledger"
)

// Metrics counts the decisions the activities make. Its labels are channel
// names, ledger statuses and rule ids, never customer data.
type Metrics interface {
	// Touch counts one touch settled on ch with outcome; rule names the
	// guardrail or throttle rule behind a blocked, deferred or failed
	// touch ("" for a sent one).
	Touch(ch channel.Name, outcome ledger.Status, rule string)
}

// NoMetrics counts nothing; it is what Activities use when Metrics is nil.
type NoMetrics struct{}

// Touch does nothing.
func (NoMetrics) Touch(channel.Name, ledger.Status, string) {}

func (a *Activities) metrics() Metrics {
	if a.Metrics == nil {
		return NoMetrics{}
	}
	return a.Metrics
}
