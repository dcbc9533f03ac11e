package activities

import (
	"context"
	"time"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/policy"
	"github.com/outreach-engine/outreach/internal/policy/policydb"
)

// decide returns the rules' decision about a touch. The first attempt loads
// the facts, runs the rules (the same policy.Decide that `starter preview`
// runs) and records the decision with the ledger row in one transaction;
// every later attempt reads the recorded decision back.
func (a *Activities) decide(ctx context.Context, t ledger.Touch, c customer.Customer, in DeliverInput) (policy.Decision, error) {
	if d, ok, err := policydb.Recorded(ctx, a.DB, t.ID); err != nil || ok {
		return d, err
	}
	f, err := policydb.LoadFacts(ctx, a.DB, c, time.Now())
	if err != nil {
		return policy.Decision{}, err
	}
	return policydb.Record(ctx, a.DB, t.ID, policy.Decide(f, policy.Plan(in.Channel, in.Intent, in.Template)))
}

// mailFormat tells the mail house how to print a letter or postcard.
func mailFormat(d policy.Decision) string {
	if d.Final.Channel != channel.Mail {
		return ""
	}
	return string(d.Final.Surface)
}

// changedBy is the rule that changed a sent touch, or "".
func changedBy(d policy.Decision) string {
	if d.Outcome == policy.Change {
		return d.RuleID
	}
	return ""
}
