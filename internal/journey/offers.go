package journey

import (
	"time"

	"github.com/outreach-engine/outreach/internal/channel"
)

// Offers is the built-in sample of a promotional journey whose templates
// declare what they say and to whom: a claim about the customer, offers for
// an interest and a life stage, a re-order postcard and text that mention
// purchase categories, and an urgent personal letter. On the sample
// customers the rules of respect send some of it, change some and block some.
func Offers(wait time.Duration) Definition {
	shop := []string{"books", "adult"}
	return Definition{
		Name:    "offers",
		Version: 1,
		Steps: []Step{
			{ID: "vip-email", Kind: StepSend, Channel: channel.Email, Intent: channel.Promotional, Template: "vip"},
			{ID: "golf-email", Kind: StepSend, Channel: channel.Email, Intent: channel.Promotional, Template: "golf"},
			{ID: "pause-1", Kind: StepWait, Wait: wait},
			{ID: "diapers-email", Kind: StepSend, Channel: channel.Email, Intent: channel.Promotional, Template: "diapers"},
			{ID: "reorder-postcard", Kind: StepSend, Channel: channel.Mail, Intent: channel.Promotional, Template: "reorder-postcard"},
			{ID: "reorder-sms", Kind: StepSend, Channel: channel.SMS, Intent: channel.Promotional, Template: "reorder-sms"},
			{ID: "pause-2", Kind: StepWait, Wait: wait},
			{ID: "urgent-letter", Kind: StepSend, Channel: channel.Mail, Intent: channel.Promotional, Template: "urgent"},
		},
		Templates: map[string]Template{
			"vip": {
				Subject: "You are one of our most valuable customers, {{.FirstName}}",
				Body:    "Hi {{.FirstName}},\n\nas one of our most valuable customers you get early access to the winter sale.\n",
				Claims:  []Claim{{Says: "one of our most valuable customers", MinOrders: 5, MinLifetimeSpendC: 500_00}},
			},
			"golf": {
				Subject:  "Tee times at half price",
				Body:     "Hi {{.FirstName}}, this month's golf offer: two rounds for the price of one.\n",
				Audience: Audience{RequiresInterest: []string{"golf"}},
			},
			"diapers": {
				Subject:  "20% off diapers and wipes",
				Body:     "Hi {{.FirstName}}, stock up for the little one: 20% off diapers and wipes this week.\n",
				Audience: Audience{RequiresLifeStage: []string{LifeStageInfant}},
			},
			"reorder-postcard": {
				Body:       "Hey, {{.FirstName}}! Your next order 10% OFF!",
				Surface:    SurfacePostcard,
				Categories: shop,
				Audience:   Audience{RequiresPurchaseIn: shop},
			},
			"reorder-sms": {
				Body:       "{{.FirstName}}, your next order ships free this week. Reply STOP to opt out.",
				Categories: shop,
				Audience:   Audience{RequiresPurchaseIn: shop},
			},
			"urgent": {
				Subject:    "Urgent information for you",
				Body:       "Dear {{.Name}},\n\nyour loyalty points expire at the end of the month.\n",
				Surface:    SurfaceLetter,
				Addressing: Addressing{Personal: true},
			},
		},
	}
}
