package journey

import (
	"time"

	"github.com/outreach-engine/outreach/internal/channel"
)

// Welcome is the built-in sample journey: a welcome email, a text the next
// day, and a postcard a week later. Its waits are given by the caller so the
// demo can compress days into seconds while tests and production use days.
func Welcome(shortWait, longWait time.Duration) Definition {
	return Definition{
		Name:    "welcome",
		Version: 1,
		Steps: []Step{
			{ID: "welcome-email", Kind: StepSend, Channel: channel.Email, Intent: channel.Transactional, Template: "welcome"},
			{ID: "pause-1", Kind: StepWait, Wait: shortWait},
			{ID: "tips-sms", Kind: StepSend, Channel: channel.SMS, Intent: channel.Promotional, Template: "tips"},
			{ID: "pause-2", Kind: StepWait, Wait: longWait},
			{ID: "hello-postcard", Kind: StepSend, Channel: channel.Mail, Intent: channel.Promotional, Template: "postcard"},
		},
		Templates: map[string]Template{
			"welcome": {
				Subject: "Welcome aboard, {{.FirstName}}",
				Body:    "Hi {{.FirstName}},\n\nthanks for joining us. Your account is ready.\n",
			},
			"tips": {
				Body: "Hi {{.FirstName}}, three quick tips to get started: reply TIPS. Reply STOP to opt out.",
			},
			"postcard": {
				Body: "Hello from all of us, {{.FirstName}}! See you soon{{with .City}} in {{.}}{{end}}.",
			},
		},
	}
}

// Builtin returns the built-in journey with the given name, with production
// waits (one day, one week).
func Builtin(name string) (Definition, bool) {
	switch name {
	case "welcome":
		return Welcome(24*time.Hour, 7*24*time.Hour), true
	case "offers":
		return Offers(24 * time.Hour), true
	case "wellness":
		return WellnessCheckIn(7*24*time.Hour, 48*time.Hour), true
	}
	return Definition{}, false
}

// BuiltinNames lists the built-in journeys Builtin knows.
func BuiltinNames() []string { return []string{"welcome", "offers", "wellness"} }
