package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
)

// Stable rule ids. Consent and reachability are qualified by the channel
// (consent.sms, address.mail.missing).
const (
	RuleAccount          = "account.not_customer"
	RuleConsent          = "consent"
	RuleAddress          = "address"
	RuleAudienceInterest = "audience.interest"
	RuleAudienceStage    = "audience.life_stage"
	RuleAudiencePurchase = "audience.purchase"
	RuleClaim            = "claim.unbacked"
	RuleUnnamed          = "addressing.unnamed"
	RulePOBox            = "visibility.po_box"
	RuleSensitive        = "visibility.sensitive"
)

// Rules are checked in this order for every touch.
var Rules = []Rule{
	{RuleAccount, "internal, subsidiary and affiliate accounts are not customers and never get a message", checkAccount},
	{RuleConsent, "a customer who did not agree to a channel, or opted out of it, is never contacted on it", checkConsent},
	{RuleAddress, "a touch needs an address on its channel", checkAddress},
	{RuleAudienceInterest, "an offer goes only to customers who told us they care about its subject", checkInterest},
	{RuleAudienceStage, "an offer for a life stage goes only to households in that stage", checkLifeStage},
	{RuleAudiencePurchase, "an offer about a kind of purchase goes only to customers who bought it", checkPurchase},
	{RuleClaim, "a message only claims what the customer's data backs", checkClaims},
	{RuleUnnamed, "personal or urgent messages are never addressed to \"Current Resident\"", checkUnnamed},
	{RulePOBox, "mail about an order sent to a PO box never goes to the home address", checkPOBox},
	{RuleSensitive, "sensitive purchases never show on a surface others can see", checkSensitive},
}

func block(rule, format string, args ...any) Verdict {
	return Verdict{Outcome: Block, RuleID: rule, Reason: fmt.Sprintf(format, args...)}
}

func change(rule string, t Touch, format string, args ...any) Verdict {
	return Verdict{Outcome: Change, RuleID: rule, Touch: t, Reason: fmt.Sprintf(format, args...)}
}

// channelWords names a channel in plain words.
var channelWords = map[channel.Name]string{
	channel.Email: "email", channel.SMS: "text messages", channel.Voice: "phone calls", channel.Mail: "postal mail",
}

// surfaceWords names a visible surface in plain words.
var surfaceWords = map[Surface]string{
	SurfacePostcard: "a postcard", SurfaceSMS: "an SMS preview", SurfaceVoicemail: "a voicemail",
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}

// sourceWords says how a customer opted out.
var sourceWords = map[string]string{
	"unsubscribe":       "unsubscribed",
	"stop":              "replied STOP",
	"bounce":            "the address bounced",
	"spam_report":       "reported a message as spam",
	"preference_center": "said so in the preference center",
	"import":            "as recorded in the customer file",
	"webhook":           "an unsubscribe, STOP, bounce or spam report from the provider",
}

func checkAccount(f *Facts, _ Touch) Verdict {
	if f.AccountType != "customer" {
		return block(RuleAccount, "this is %s account, not a customer: it never enters a journey", article(f.AccountType))
	}
	return pass
}

func checkConsent(f *Facts, t Touch) Verdict {
	id := RuleConsent + "." + string(t.Channel)
	c, ok := f.Consents[t.Channel]
	switch {
	case !ok:
		return block(id, "the customer never agreed to %s", channelWords[t.Channel])
	case !c.Granted:
		how := sourceWords[c.Source]
		if how == "" {
			how = "source: " + c.Source
		}
		return block(id, "the customer opted out of %s (%s)", channelWords[t.Channel], how)
	}
	return pass
}

func checkAddress(f *Facts, t Touch) Verdict {
	if !f.Reachable[t.Channel] {
		return block(RuleAddress+"."+string(t.Channel)+".missing", "there is no address on file for %s", channelWords[t.Channel])
	}
	return pass
}

func fold(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strings.ToLower(strings.TrimSpace(x))
	}
	return out
}

func overlaps(a, b []string) bool {
	b = fold(b)
	for _, x := range fold(a) {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func checkInterest(f *Facts, t Touch) Verdict {
	want := t.Template.Audience.RequiresInterest
	if len(want) == 0 || overlaps(want, f.Interests) {
		return pass
	}
	told := "nothing about their interests"
	if len(f.Interests) > 0 {
		told = strings.Join(f.Interests, ", ")
	}
	return block(RuleAudienceInterest, "the offer is for customers interested in %s; this customer told us: %s",
		strings.Join(want, " or "), told)
}

// LifeStages returns the household's life stages: nil when the household is
// unknown, otherwise no_children, or parent stages from the youngest child.
func LifeStages(f *Facts) []string {
	if !f.HouseholdKnown {
		return nil
	}
	if len(f.ChildrenBirthYears) == 0 {
		return []string{journey.LifeStageNoChildren}
	}
	age := youngestAge(f)
	switch {
	case age < 3:
		return []string{journey.LifeStageInfant}
	case age < 13:
		return []string{journey.LifeStageChild}
	case age < 18:
		return []string{journey.LifeStageTeen}
	}
	return []string{journey.LifeStageAdultChildren}
}

func youngestAge(f *Facts) int {
	return f.Now.Year() - slices.Max(f.ChildrenBirthYears)
}

func describeHousehold(f *Facts) string {
	switch {
	case !f.HouseholdKnown:
		return "we do not know this customer's household"
	case len(f.ChildrenBirthYears) == 0:
		return "this customer has no children"
	}
	return fmt.Sprintf("this customer's youngest child is %d", youngestAge(f))
}

func checkLifeStage(f *Facts, t Touch) Verdict {
	a := t.Template.Audience
	stages := LifeStages(f)
	if len(a.RequiresLifeStage) > 0 && !overlaps(a.RequiresLifeStage, stages) {
		return block(RuleAudienceStage, "the offer is for households at the %s stage; %s",
			strings.Join(a.RequiresLifeStage, " or "), describeHousehold(f))
	}
	if len(a.ExcludesLifeStage) > 0 && overlaps(a.ExcludesLifeStage, stages) {
		return block(RuleAudienceStage, "the offer excludes households at the %s stage; %s",
			strings.Join(a.ExcludesLifeStage, " or "), describeHousehold(f))
	}
	return pass
}

func checkPurchase(f *Facts, t Touch) Verdict {
	want := t.Template.Audience.RequiresPurchaseIn
	if len(want) == 0 {
		return pass
	}
	for _, p := range f.Purchases {
		if overlaps(want, []string{p.Category}) {
			return pass
		}
	}
	return block(RuleAudiencePurchase, "the offer is for customers who bought in a category this customer never bought in")
}

func money(cents int64) string { return fmt.Sprintf("%d.%02d", cents/100, cents%100) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func checkClaims(f *Facts, t Touch) Verdict {
	orders, spend := f.Orders(), f.LifetimeSpendCents()
	for _, c := range t.Template.Claims {
		if orders >= c.MinOrders && spend >= c.MinLifetimeSpendC {
			continue
		}
		var needs []string
		if c.MinOrders > 0 {
			needs = append(needs, plural(c.MinOrders, "order", "orders"))
		}
		if c.MinLifetimeSpendC > 0 {
			needs = append(needs, money(c.MinLifetimeSpendC)+" spent")
		}
		return block(RuleClaim, "the message says %q, which needs %s; this customer has %s and %s spent",
			c.Says, strings.Join(needs, " and "), plural(orders, "order", "orders"), money(spend))
	}
	return pass
}

var (
	urgentWord   = regexp.MustCompile(`(?i)\burgent`)
	residentName = regexp.MustCompile(`(?i)^\s*((the\s+)?current\s+)?(resident|occupant|householder)s?\s*$`)
)

// Unnamed reports whether a name is a placeholder rather than a person.
func Unnamed(name string) bool {
	return strings.TrimSpace(name) == "" || residentName.MatchString(name)
}

func checkUnnamed(f *Facts, t Touch) Verdict {
	tpl := t.Template
	personal := tpl.Addressing.Personal || urgentWord.MatchString(tpl.Subject) || urgentWord.MatchString(tpl.Body)
	if !personal {
		return pass
	}
	if tpl.Addressing.To == "resident" {
		return block(RuleUnnamed, "the message speaks personally or urgently but is addressed to \"Current Resident\"")
	}
	if Unnamed(f.Name) {
		return block(RuleUnnamed, "the message speaks personally or urgently but we do not know the recipient's name (%q)", strings.TrimSpace(f.Name))
	}
	return pass
}

// mentioned reports whether the template mentions the category of one of the
// customer's purchases for which keep holds.
func mentioned(f *Facts, t Touch, keep func(Purchase) bool) bool {
	for _, p := range f.Purchases {
		if keep(p) && overlaps(t.Template.Categories, []string{p.Category}) {
			return true
		}
	}
	return false
}

// private returns the first private way to reach the customer, trying email
// then a sealed letter, among channels whose consent and address hold and
// that are not excluded.
func private(f *Facts, t Touch, exclude channel.Name) (Touch, bool) {
	for _, c := range []struct {
		ch channel.Name
		s  Surface
	}{{channel.Email, SurfaceEmail}, {channel.Mail, SurfaceLetter}} {
		if c.ch == exclude || !f.Consents[c.ch].Granted || !f.Reachable[c.ch] {
			continue
		}
		t.Channel, t.Surface = c.ch, c.s
		return t, true
	}
	return t, false
}

func checkPOBox(f *Facts, t Touch) Verdict {
	if t.Channel != channel.Mail || f.MailIsPOBox || !mentioned(f, t, func(p Purchase) bool { return p.ToPOBox }) {
		return pass
	}
	if nt, ok := private(f, t, channel.Mail); ok {
		return change(RulePOBox, nt, "the message is about an order the customer had sent to a PO box and must never go to the home address, so it moved to %s", channelWords[nt.Channel])
	}
	return block(RulePOBox, "the message is about an order the customer had sent to a PO box, it must not go to the home address, and there is no other channel the customer agreed to")
}

func checkSensitive(f *Facts, t Touch) Verdict {
	if !t.Surface.Visible() || !mentioned(f, t, func(p Purchase) bool { return p.Sensitive }) {
		return pass
	}
	if t.Surface == SurfacePostcard {
		t.Surface = SurfaceLetter
		return change(RuleSensitive, t, "the message mentions a purchase in a sensitive category, so it goes in a sealed envelope instead of on a postcard")
	}
	if nt, ok := private(f, t, ""); ok {
		what := "email"
		if nt.Channel == channel.Mail {
			what = "a sealed letter"
		}
		return change(RuleSensitive, nt, "the message mentions a purchase in a sensitive category and %s can be seen by others, so it moved to %s", surfaceWords[t.Surface], what)
	}
	return block(RuleSensitive, "the message mentions a purchase in a sensitive category, %s can be seen by others, and the customer agreed to no private channel", surfaceWords[t.Surface])
}
