package policy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/policy"
)

// The rule ids are part of the ledger and of reports: renaming one breaks
// every "why" ever recorded. This list changes only by adding.
func TestRuleIDsAreStable(t *testing.T) {
	var ids []string
	for _, r := range policy.Rules {
		ids = append(ids, r.ID)
		assert.NotEmpty(t, r.Protects, r.ID)
	}
	assert.Equal(t, []string{
		"account.not_customer", "consent", "address", "audience.interest", "audience.life_stage",
		"audience.purchase", "claim.unbacked", "addressing.unnamed", "visibility.po_box", "visibility.sensitive",
	}, ids)
}

func TestRulesOneByOne(t *testing.T) {
	tests := []struct {
		name  string
		facts func(*policy.Facts)
		ch    channel.Name
		tpl   journey.Template
		rule  string // "" when the touch goes out unchanged
	}{
		{"no phone on file", func(f *policy.Facts) { f.Reachable[channel.SMS] = false }, channel.SMS, journey.Template{Body: "x"}, "address.sms.missing"},
		{"bounced email", func(f *policy.Facts) { f.Consents[channel.Email] = policy.Consent{Source: "bounce"} }, channel.Email, journey.Template{Body: "x"}, "consent.email"},
		{"no interests told", func(f *policy.Facts) { f.Interests = nil }, channel.Email,
			journey.Template{Body: "x", Audience: journey.Audience{RequiresInterest: []string{"golf"}}}, policy.RuleAudienceInterest},
		{"excluded stage", func(f *policy.Facts) { f.HouseholdKnown = true }, channel.Email,
			journey.Template{Body: "x", Audience: journey.Audience{ExcludesLifeStage: []string{journey.LifeStageNoChildren}}}, policy.RuleAudienceStage},
		{"excluded stage, household unknown", func(f *policy.Facts) {}, channel.Email,
			journey.Template{Body: "x", Audience: journey.Audience{ExcludesLifeStage: []string{journey.LifeStageNoChildren}}}, ""},
		{"teen stage", func(f *policy.Facts) { f.HouseholdKnown, f.ChildrenBirthYears = true, []int{2012} }, channel.Email,
			journey.Template{Body: "x", Audience: journey.Audience{RequiresLifeStage: []string{journey.LifeStageTeen}}}, ""},
		{"never bought the category", func(f *policy.Facts) {}, channel.Email,
			journey.Template{Body: "x", Audience: journey.Audience{RequiresPurchaseIn: []string{"books"}}}, policy.RuleAudiencePurchase},
		{"bought the category", func(f *policy.Facts) { f.Purchases = []policy.Purchase{{Order: "o", Category: "books"}} }, channel.Email,
			journey.Template{Body: "x", Audience: journey.Audience{RequiresPurchaseIn: []string{"Books"}}}, ""},
		{"spend claim unbacked", func(f *policy.Facts) {
			f.Purchases = []policy.Purchase{{Order: "a"}, {Order: "b"}, {Order: "c"}}
		}, channel.Email, journey.Template{Body: "x", Claims: []journey.Claim{{Says: "big spender", MinLifetimeSpendC: 100}}}, policy.RuleClaim},
		{"urgent in the body, unnamed", func(f *policy.Facts) { f.Name = "Occupant" }, channel.Email,
			journey.Template{Body: "URGENT: read now"}, policy.RuleUnnamed},
		{"personal flag, empty name", func(f *policy.Facts) { f.Name = " " }, channel.Mail,
			journey.Template{Body: "We miss you", Surface: journey.SurfaceLetter, Addressing: journey.Addressing{Personal: true}}, policy.RuleUnnamed},
		{"PO box address on file", func(f *policy.Facts) {
			f.MailIsPOBox = true
			f.Purchases = []policy.Purchase{{Order: "o", Category: "adult", ToPOBox: true}}
		}, channel.Mail, journey.Template{Body: "x", Surface: journey.SurfaceLetter, Categories: []string{"adult"}}, ""},
		{"sensitive purchase on a voicemail", func(f *policy.Facts) {
			f.Purchases = []policy.Purchase{{Order: "o", Category: "pharmacy", Sensitive: true}}
		}, channel.Voice, journey.Template{Body: "x", Categories: []string{"pharmacy"}}, policy.RuleSensitive},
		{"sensitive purchase by email", func(f *policy.Facts) {
			f.Purchases = []policy.Purchase{{Order: "o", Category: "pharmacy", Sensitive: true}}
		}, channel.Email, journey.Template{Body: "x", Categories: []string{"pharmacy"}}, ""},
		{"sensitive purchase not mentioned", func(f *policy.Facts) {
			f.Purchases = []policy.Purchase{{Order: "o", Category: "pharmacy", Sensitive: true}}
		}, channel.SMS, journey.Template{Body: "x", Categories: []string{"books"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := customer()
			tt.facts(&f)
			d := decide(f, tt.ch, tt.tpl)
			if tt.rule == "" {
				requireAllowed(t, d)
				return
			}
			require.NotEqual(t, policy.Allow, d.Outcome, "decision: %+v", d)
			assert.Equal(t, tt.rule, d.RuleID)
			assert.NotEmpty(t, d.Reason)
		})
	}
}

// Every changed touch is checked again from the first rule: the chain of a
// postcard about a PO-box order is postcard -> email in one step, and the
// reason names the rule.
func TestDecisionRecordsEveryChange(t *testing.T) {
	f := customer()
	f.Purchases = []policy.Purchase{{Order: "o", Category: "adult", Sensitive: true, ToPOBox: true}}
	// Letter already: only the PO box rule has something to say.
	d := decide(f, channel.Mail, journey.Template{Body: "x", Surface: journey.SurfaceLetter, Categories: []string{"adult"}})
	require.Equal(t, policy.Change, d.Outcome)
	require.Len(t, d.Changes, 1)
	assert.Equal(t, policy.RulePOBox, d.Changes[0].RuleID)
	assert.Contains(t, d.Reason, "PO box")
}

func BenchmarkDecide(b *testing.B) {
	f := customer()
	f.Interests = []string{"skiing", "tennis", "cooking"}
	f.HouseholdKnown, f.ChildrenBirthYears = true, []int{2008, 2011}
	for i := range 20 {
		f.Purchases = append(f.Purchases, policy.Purchase{Order: string(rune('a' + i)), Category: "books", AmountCents: 1000})
	}
	f.Purchases = append(f.Purchases, policy.Purchase{Order: "z", Category: "adult", Sensitive: true, ToPOBox: true})
	touch := policy.Plan(channel.Mail, channel.Promotional, journey.Template{
		Subject: "Your next order", Body: "Hey {{.FirstName}}", Surface: journey.SurfacePostcard,
		Categories: []string{"adult"},
		Audience:   journey.Audience{RequiresInterest: []string{"cooking"}, ExcludesLifeStage: []string{journey.LifeStageInfant}},
		Claims:     []journey.Claim{{Says: "regular", MinOrders: 3}},
	})
	b.ReportAllocs()
	for b.Loop() {
		if d := policy.Decide(f, touch); d.Outcome != policy.Change {
			b.Fatalf("outcome %s", d.Outcome)
		}
	}
}
