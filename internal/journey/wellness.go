package journey

import (
	"time"

	"github.com/outreach-engine/outreach/internal/channel"
)

// WellnessCheckIn is the built-in caring journey: a check-in call by a person
// (never a robo-call; if no one calls before callDeadline, a personal email
// from a named person instead), then after wait a short email with resources.
func WellnessCheckIn(wait, callDeadline time.Duration) Definition {
	return Definition{
		Name:    "wellness",
		Version: 1,
		Steps: []Step{
			{
				ID: "check-in-call", Kind: StepHumanCall, Template: "check-in",
				Reason: "Wellness check-in a month after joining", Deadline: callDeadline,
				FallbackStep: "check-in-note", Next: "pause",
			},
			{ID: "check-in-note", Kind: StepSend, Channel: channel.Email, Intent: channel.Caring, Template: "check-in-note"},
			{ID: "pause", Kind: StepWait, Wait: wait},
			{ID: "resources-email", Kind: StepSend, Channel: channel.Email, Intent: channel.Caring, Template: "resources"},
		},
		Templates: map[string]Template{
			"check-in": {
				Body: "Ask {{.FirstName}} how the first month went and whether anything got in the way.\n" +
					"Listen first; offer help only if asked.\n" +
					"Do not mention offers or upgrades.",
			},
			"check-in-note": {
				Subject: "How are you getting on, {{.FirstName}}?",
				Body: "Hi {{.FirstName}},\n\nI tried to reach you to hear how your first month went. " +
					"If anything is getting in the way, just reply to this email and it comes straight to me.\n\n" +
					"Maria Keller, customer care",
			},
			"resources": {
				Subject: "A few things that might help",
				Body:    "Hi {{.FirstName}},\n\nhere are the guides other members found most useful. Reply any time.\n",
			},
		},
	}
}
