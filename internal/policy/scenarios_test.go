package policy_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/policy"
)

// now dates every scenario: the children's ages follow from it.
var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// customer is a real customer who agreed to every channel and has an
// address on each; each scenario changes what its story needs.
func customer() policy.Facts {
	all := map[channel.Name]policy.Consent{}
	reach := map[channel.Name]bool{}
	for _, ch := range channel.All {
		all[ch] = policy.Consent{Granted: true, Source: "import"}
		reach[ch] = true
	}
	return policy.Facts{
		CustomerID: "c-1", AccountType: "customer", Name: "Julie Martin",
		Interests: []string{"cooking"}, Consents: all, Reachable: reach, Now: now,
	}
}

func decide(f policy.Facts, ch channel.Name, t journey.Template) policy.Decision {
	return policy.Decide(f, policy.Plan(ch, channel.Promotional, t))
}

func requireBlocked(t *testing.T, d policy.Decision, rule string) {
	t.Helper()
	require.Equal(t, policy.Block, d.Outcome, "decision: %+v", d)
	require.Equal(t, rule, d.RuleID)
	require.NotEmpty(t, d.Reason)
}

func requireAllowed(t *testing.T, d policy.Decision) {
	t.Helper()
	require.Equal(t, policy.Allow, d.Outcome, "decision: %+v", d)
	require.Equal(t, d.Planned, d.Final)
}

// "We are graduating our last child from high school this year — please do
// not send me diaper ads!" / "Don't send coupons for diapers to a woman with
// a 15-year old."
func TestDiapersForAParentWhoseYoungestIsFifteen(t *testing.T) {
	diapers := journey.Template{
		Subject: "20% off diapers", Body: "Stock up, {{.FirstName}}.",
		Audience: journey.Audience{RequiresLifeStage: []string{journey.LifeStageInfant}},
	}
	parentOfTeen := customer()
	parentOfTeen.HouseholdKnown, parentOfTeen.ChildrenBirthYears = true, []int{2008, 2011}
	d := decide(parentOfTeen, channel.Email, diapers)
	requireBlocked(t, d, policy.RuleAudienceStage)
	assert.Contains(t, d.Reason, "youngest child is 15")

	// Twin: a parent of a one-year-old gets the coupon.
	newParent := customer()
	newParent.HouseholdKnown, newParent.ChildrenBirthYears = true, []int{2019, 2025}
	requireAllowed(t, decide(newParent, channel.Email, diapers))

	// Nobody told us about the household: we do not guess.
	requireBlocked(t, decide(customer(), channel.Email, diapers), policy.RuleAudienceStage)
}

// "I love to ski and play tennis — why are you sending me golf offers??"
func TestGolfOfferForSomeoneWhoSaidSkiingAndTennis(t *testing.T) {
	golf := journey.Template{
		Subject: "Tee time deals", Body: "Hi {{.FirstName}}.",
		Audience: journey.Audience{RequiresInterest: []string{"golf"}},
	}
	skier := customer()
	skier.Interests = []string{"skiing", "tennis"}
	d := decide(skier, channel.Email, golf)
	requireBlocked(t, d, policy.RuleAudienceInterest)
	assert.Contains(t, d.Reason, "skiing, tennis")

	golfer := customer()
	golfer.Interests = []string{"Tennis", "Golf"}
	requireAllowed(t, decide(golfer, channel.Email, golf))
}

// The woman who ordered from an adult store to her PO box and then found "Hey,
// Julie! Your Next Order 10% OFF!" on a glossy postcard at her home.
func TestPostcardAfterAnAdultStoreOrderSentToAPOBox(t *testing.T) {
	postcard := journey.Template{
		Body: "Hey, {{.FirstName}}! Your Next Order 10% OFF!", Surface: journey.SurfacePostcard,
		Categories: []string{"adult"},
	}
	julie := customer()
	julie.Purchases = []policy.Purchase{{Order: "o-1", Category: "adult", Sensitive: true, AmountCents: 6400, ToPOBox: true}}
	d := decide(julie, channel.Mail, postcard)
	require.Equal(t, policy.Change, d.Outcome, "decision: %+v", d)
	assert.Equal(t, policy.RulePOBox, d.RuleID)
	assert.Equal(t, channel.Email, d.Final.Channel, "the offer reaches her privately, by email")
	assert.Equal(t, policy.SurfacePostcard, d.Planned.Surface)

	// Without email consent there is no private channel left: no mail at all,
	// never the postcard at home.
	noEmail := julie
	noEmail.Consents = map[channel.Name]policy.Consent{channel.Mail: {Granted: true}, channel.Email: {Granted: false, Source: "unsubscribe"}}
	requireBlocked(t, decide(noEmail, channel.Mail, postcard), policy.RulePOBox)

	// The same order shipped to her home: the postcard becomes a sealed letter.
	home := customer()
	home.Purchases = []policy.Purchase{{Order: "o-1", Category: "adult", Sensitive: true, AmountCents: 6400}}
	d = decide(home, channel.Mail, postcard)
	require.Equal(t, policy.Change, d.Outcome)
	assert.Equal(t, policy.RuleSensitive, d.RuleID)
	assert.Equal(t, policy.Touch{Channel: channel.Mail, Surface: policy.SurfaceLetter, Intent: channel.Promotional}, withoutTemplate(d.Final))

	// Twin: a bookshop customer gets the postcard as planned.
	reader := customer()
	reader.Purchases = []policy.Purchase{{Order: "o-2", Category: "books", AmountCents: 2500}}
	requireAllowed(t, decide(reader, channel.Mail, journey.Template{
		Body: "Hey, {{.FirstName}}! Your Next Order 10% OFF!", Categories: []string{"books"},
	}))
}

func withoutTemplate(t policy.Touch) policy.Touch {
	t.Template = journey.Template{}
	return t
}

// "Emails that boast subject lines like 'You're our most valuable customer' to
// people who have only made one purchase."
func TestMostValuableCustomerToAOneTimeBuyer(t *testing.T) {
	vip := journey.Template{
		Subject: "You're our most valuable customer", Body: "Thank you, {{.FirstName}}.",
		Claims: []journey.Claim{{Says: "most valuable customer", MinOrders: 5, MinLifetimeSpendC: 50000}},
	}
	once := customer()
	once.Purchases = []policy.Purchase{{Order: "o-1", Category: "books", AmountCents: 1999}}
	d := decide(once, channel.Email, vip)
	requireBlocked(t, d, policy.RuleClaim)
	assert.Contains(t, d.Reason, "1 order and 19.99 spent")

	loyal := customer()
	for _, o := range []string{"o-1", "o-2", "o-3", "o-4", "o-5", "o-6"} {
		loyal.Purchases = append(loyal.Purchases, policy.Purchase{Order: o, Category: "books", AmountCents: 12000})
	}
	requireAllowed(t, decide(loyal, channel.Email, vip))
}

// "Direct mail clearly saying we have 'urgent information for you' and then
// address it 'current resident'."
func TestUrgentMailToCurrentResident(t *testing.T) {
	urgent := journey.Template{
		Subject: "Urgent information for you", Body: "Dear {{.Name}}, please read this.", Surface: journey.SurfaceLetter,
	}
	resident := customer()
	resident.Name = "Current Resident"
	requireBlocked(t, decide(resident, channel.Mail, urgent), policy.RuleUnnamed)

	byTemplate := urgent
	byTemplate.Addressing = journey.Addressing{To: "resident"}
	requireBlocked(t, decide(customer(), channel.Mail, byTemplate), policy.RuleUnnamed)

	// Twin: the same letter to a named customer is sent; so is a plain
	// neighbourhood flyer to Current Resident.
	requireAllowed(t, decide(customer(), channel.Mail, urgent))
	requireAllowed(t, decide(resident, channel.Mail, journey.Template{
		Body: "Our new store opens on Main Street.", Addressing: journey.Addressing{To: "resident"},
	}))
}

// "You're surprised to find your company's subsidiaries listed in your
// customer roster. But they're not customers."
func TestSubsidiaryInTheCustomerRoster(t *testing.T) {
	sub := customer()
	sub.AccountType = "subsidiary"
	requireBlocked(t, policy.Enter(sub), policy.RuleAccount)
	requireBlocked(t, decide(sub, channel.Email, journey.Template{Body: "Welcome"}), policy.RuleAccount)
	for _, kind := range []string{"internal", "affiliate"} {
		acct := customer()
		acct.AccountType = kind
		requireBlocked(t, policy.Enter(acct), policy.RuleAccount)
	}

	require.Equal(t, policy.Allow, policy.Enter(customer()).Outcome)
	requireAllowed(t, decide(customer(), channel.Email, journey.Template{Body: "Welcome"}))
}

// "Bombarding them with offers when they've opted out."
func TestOptedOutCustomer(t *testing.T) {
	offer := journey.Template{Body: "Hi {{.FirstName}}, 10% off this week."}
	stopped := customer()
	stopped.Consents[channel.SMS] = policy.Consent{Granted: false, Source: "stop"}
	d := decide(stopped, channel.SMS, offer)
	requireBlocked(t, d, "consent.sms")
	assert.Contains(t, d.Reason, "replied STOP")

	// The opt-out concerns text messages only: email still goes out.
	requireAllowed(t, decide(stopped, channel.Email, offer))
	// Never asked is not yes.
	delete(stopped.Consents, channel.Voice)
	requireBlocked(t, decide(stopped, channel.Voice, offer), "consent.voice")
}

// A fallback never launders an opt-out: a sensitive text message can only
// move to a channel whose consent holds.
func TestFallbackNeverLaundersAnOptOut(t *testing.T) {
	reminder := journey.Template{Body: "Your order ships today.", Categories: []string{"pharmacy"}}
	f := customer()
	f.Purchases = []policy.Purchase{{Order: "o-9", Category: "pharmacy", Sensitive: true, AmountCents: 1500}}

	d := decide(f, channel.SMS, reminder)
	require.Equal(t, policy.Change, d.Outcome)
	assert.Equal(t, channel.Email, d.Final.Channel)

	f.Consents[channel.Email] = policy.Consent{Granted: false, Source: "unsubscribe"}
	d = decide(f, channel.SMS, reminder)
	require.Equal(t, policy.Change, d.Outcome)
	assert.Equal(t, policy.Touch{Channel: channel.Mail, Surface: policy.SurfaceLetter, Intent: channel.Promotional}, withoutTemplate(d.Final))

	f.Consents[channel.Mail] = policy.Consent{Granted: false, Source: "preference_center"}
	requireBlocked(t, decide(f, channel.SMS, reminder), policy.RuleSensitive)
	requireBlocked(t, decide(f, channel.Voice, reminder), policy.RuleSensitive)
}
