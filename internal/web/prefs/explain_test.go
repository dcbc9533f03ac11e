package prefs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/ledger"
	choices "github.com/outreach-engine/outreach/internal/prefs"
	webprefs "github.com/outreach-engine/outreach/internal/web/prefs"
)

func TestExplainSaysWhyInPlainWords(t *testing.T) {
	c := customer.Customer{Name: "Ada", Interests: []string{"gardening", "golf"}, Attributes: map[string]any{"orders": float64(1)}}
	p := choices.Preferences{Frequency: choices.Weekly, Consents: map[channel.Name]bool{channel.Email: true, channel.Mail: true}}
	offer := ledger.Touch{Journey: "spring", StepID: "seed-offer", Channel: channel.Email, Intent: channel.Promotional,
		Status: ledger.Sent, UpdatedAt: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}

	why, outcome := webprefs.Explain(offer, c, p)
	all := strings.Join(why, " ")
	assert.Contains(t, all, "“spring” series")
	assert.Contains(t, all, "“seed-offer” step, by email")
	assert.Contains(t, all, "It is an offer")
	assert.Contains(t, all, "you allow email and post")
	assert.Contains(t, all, "“At most one offer a week”")
	assert.Contains(t, all, "interested in Gardening and Golf")
	assert.Contains(t, all, "ordered from us 1 time.")
	assert.Equal(t, "We sent it on 2 March 2026.", outcome)

	c.Interests = nil
	why, _ = webprefs.Explain(offer, c, p)
	assert.Contains(t, strings.Join(why, " "), "not told us what interests you")

	receipt := offer
	receipt.Intent = channel.Transactional
	why, _ = webprefs.Explain(receipt, c, p)
	assert.Contains(t, strings.Join(why, " "), "even when you have switched offers off")
	assert.NotContains(t, strings.Join(why, " "), "It is an offer")

	blocked := offer
	blocked.Status, blocked.Reason = ledger.Blocked, "preference.frequency"
	_, outcome = webprefs.Explain(blocked, c, p)
	assert.Equal(t, "In the end we did not send it: you asked us for fewer offers.", outcome)
}

func TestRulesInWords(t *testing.T) {
	for rule, want := range map[string]string{
		"preference.frequency":          "you asked us for fewer offers",
		"suppression.email.promotional": "you unsubscribed from offers by email",
		"consent.sms":                   "you have not allowed us to use text messages",
		"address.mail.missing":          "we do not have an address for it",
		"throttle.window":               "one of our rules of respect held it back (throttle.window)",
	} {
		assert.Equal(t, want, webprefs.RuleInWords(rule), rule)
	}
}
