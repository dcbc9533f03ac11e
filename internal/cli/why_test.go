package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/policy"
	"github.com/outreach-engine/outreach/internal/policy/policydb"
)

func TestWhyNamesWhatHeldBackAnAllowedTouch(t *testing.T) {
	allowed := policydb.Explained{Outcome: policy.Allow, RuleID: "", PlannedChannel: channel.SMS, FinalChannel: channel.SMS}

	expired := allowed
	expired.Status, expired.LedgerReason = ledger.Expired, "throttle.quiet_hours.sms"
	assert.Equal(t, "not sent: the sms passed every rule of respect, but the throttle held it back until the step's deadline passed; rule throttle.quiet_hours.sms", whyLine(expired))

	chosen := allowed
	chosen.Status, chosen.LedgerReason = ledger.Blocked, "preference.frequency"
	assert.Contains(t, whyLine(chosen), "the customer's own choice holds it back; rule preference.frequency")

	blocked := policydb.Explained{Outcome: policy.Block, RuleID: "consent.sms", Reason: "no consent", Status: ledger.Blocked,
		PlannedChannel: channel.SMS, FinalChannel: channel.SMS, LedgerReason: "consent.sms"}
	assert.Equal(t, "not sent, the sms was blocked; rule consent.sms: no consent", whyLine(blocked))
}
