// Package policy holds the rules of respect: small, pure checks over the
// facts about a customer and a planned touch. Each rule has a stable id and
// returns a reason in plain words; Decide runs them in order and returns one
// decision: allow, block, or change (the touch goes out differently, e.g. in
// an envelope instead of on a postcard).
//
// Nothing in this package does I/O. The facts are loaded by
// internal/policy/policydb, and the engine (the Deliver activity), `starter
// preview` and `starter why` all go through Decide.
package policy

import (
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
)

// Outcome is what a decision does to a touch.
type Outcome string

const (
	// Allow sends the touch as planned.
	Allow Outcome = "allow"
	// Block does not send it.
	Block Outcome = "block"
	// Change sends it differently: another surface or channel.
	Change Outcome = "change"
)

// RuleAllow is the rule id recorded when no rule objected.
const RuleAllow = "allow"

// Surface is where a message lands and who can see it there.
type Surface string

const (
	SurfaceEmail     Surface = "email"
	SurfaceSMS       Surface = "sms"
	SurfaceVoicemail Surface = "voicemail"
	SurfacePostcard  Surface = journey.SurfacePostcard
	SurfaceLetter    Surface = journey.SurfaceLetter
)

// Visible reports whether people other than the customer can see a message
// on this surface: a postcard, an SMS preview on a locked screen, a voicemail
// played aloud. Email and sealed letters are private.
func (s Surface) Visible() bool {
	return s == SurfacePostcard || s == SurfaceSMS || s == SurfaceVoicemail
}

// Touch is a planned message: where it goes, how, and what it says.
type Touch struct {
	Channel  channel.Name     `json:"channel"`
	Surface  Surface          `json:"surface"`
	Intent   channel.Intent   `json:"intent"`
	Template journey.Template `json:"-"`
}

// Plan is the touch a send step plans: the channel's own surface, or for
// mail the template's (a postcard unless it says letter).
func Plan(ch channel.Name, intent channel.Intent, t journey.Template) Touch {
	return Touch{Channel: ch, Surface: surfaceOf(ch, t.Surface), Intent: intent, Template: t}
}

func surfaceOf(ch channel.Name, mailSurface string) Surface {
	switch ch {
	case channel.Email:
		return SurfaceEmail
	case channel.SMS:
		return SurfaceSMS
	case channel.Voice:
		return SurfaceVoicemail
	}
	if mailSurface == journey.SurfaceLetter {
		return SurfaceLetter
	}
	return SurfacePostcard
}

// Consent is the customer's word on one channel.
type Consent struct {
	Granted bool `json:"granted"`
	// Source is where the answer came from: import, unsubscribe, stop,
	// bounce, spam_report, preference_center...
	Source string `json:"source,omitempty"`
}

// Purchase is one category of one order.
type Purchase struct {
	Order       string
	Category    string
	Sensitive   bool
	AmountCents int64
	// ToPOBox: the customer had this order delivered to a PO box.
	ToPOBox bool
}

// Facts is everything the rules know about a customer. It is loaded once per
// decision and never leaves the process (it holds personal data).
type Facts struct {
	CustomerID string
	// AccountType is customer, internal, subsidiary or affiliate.
	AccountType string
	// Name is the name mail would be addressed to.
	Name      string
	Interests []string
	// ChildrenBirthYears is nil when the household is unknown, and empty
	// when the customer told us there are no children.
	ChildrenBirthYears []int
	HouseholdKnown     bool
	Consents           map[channel.Name]Consent
	// Reachable says which channels have an address on file.
	Reachable map[channel.Name]bool
	// MailIsPOBox: the postal address on file is itself a PO box.
	MailIsPOBox bool
	Purchases   []Purchase
	// Now dates the decision (ages of children).
	Now time.Time
}

// Orders counts distinct orders.
func (f *Facts) Orders() int {
	seen := map[string]bool{}
	for _, p := range f.Purchases {
		seen[p.Order] = true
	}
	return len(seen)
}

// LifetimeSpendCents sums every purchase.
func (f *Facts) LifetimeSpendCents() int64 {
	var n int64
	for _, p := range f.Purchases {
		n += p.AmountCents
	}
	return n
}

// Verdict is one rule's answer about one touch.
type Verdict struct {
	Outcome Outcome `json:"outcome"`
	RuleID  string  `json:"rule_id"`
	Reason  string  `json:"reason"`
	// Touch is the changed touch when Outcome is Change.
	Touch Touch `json:"touch,omitzero"`
}

var pass = Verdict{Outcome: Allow}

// Decision is the outcome of every rule for one touch.
type Decision struct {
	Outcome Outcome `json:"outcome"`
	// RuleID is the rule that blocked the touch, or the first that changed
	// it, or RuleAllow.
	RuleID string `json:"rule_id"`
	Reason string `json:"reason"`
	// Planned is the touch as the journey planned it, Final as it goes out.
	Planned Touch `json:"planned"`
	Final   Touch `json:"final"`
	// Changes lists every change on the way, in order.
	Changes []Verdict `json:"changes,omitempty"`
}

// Rule is one rule of respect.
type Rule struct {
	// ID is stable; verdicts may qualify it (consent.sms for rule consent).
	ID string
	// Protects says in a sentence what the rule is for.
	Protects string
	Check    func(f *Facts, t Touch) Verdict
}

// Decide runs every rule over a planned touch. A block ends the decision; a
// change replaces the touch and starts the rules again from the first, so a
// changed touch passes consent, reachability and every other rule on its new
// channel and surface: a fallback never launders an opt-out.
func Decide(f Facts, planned Touch) Decision {
	t := planned
	var changes []Verdict
	for range len(Rules) + 1 {
		changed := false
		for _, r := range Rules {
			v := r.Check(&f, t)
			if v.Outcome == Block {
				return Decision{Outcome: Block, RuleID: v.RuleID, Reason: v.Reason, Planned: planned, Final: t, Changes: changes}
			}
			if v.Outcome == Change {
				changes = append(changes, v)
				t, changed = v.Touch, true
				break
			}
		}
		if changed {
			continue
		}
		if len(changes) == 0 {
			return Decision{Outcome: Allow, RuleID: RuleAllow, Reason: "no rule objected", Planned: planned, Final: t}
		}
		reasons := make([]string, len(changes))
		for i, c := range changes {
			reasons[i] = c.Reason
		}
		return Decision{Outcome: Change, RuleID: changes[0].RuleID, Reason: strings.Join(reasons, "; then "),
			Planned: planned, Final: t, Changes: changes}
	}
	return Decision{Outcome: Block, RuleID: "policy.unsettled",
		Reason: "the rules kept changing the touch and never settled, so it was not sent", Planned: planned, Final: t, Changes: changes}
}

// Enter decides whether a customer may enter a journey at all.
func Enter(f Facts) Decision {
	if v := checkAccount(&f, Touch{}); v.Outcome == Block {
		return Decision{Outcome: Block, RuleID: v.RuleID, Reason: v.Reason}
	}
	return Decision{Outcome: Allow, RuleID: RuleAllow, Reason: "a customer account"}
}
