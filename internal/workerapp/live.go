package workerapp

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/postal"
	"github.com/outreach-engine/outreach/internal/channel/sendgrid"
	"github.com/outreach-engine/outreach/internal/channel/twilio"
	"github.com/outreach-engine/outreach/internal/config"
	"github.com/outreach-engine/outreach/internal/links"
	"github.com/outreach-engine/outreach/internal/web/webhook"
)

// LiveSenders builds the provider senders of live delivery: SendGrid for
// email, Twilio for SMS and voice, the print-and-mail house for mail.
// footer is the preference center's (see NewWeb): it gives promotional email
// its one-click unsubscribe headers, so live delivery needs it.
func LiveSenders(l config.Live, footer *links.Footer) (map[channel.Name]channel.Sender, error) {
	if footer == nil {
		return nil, errors.New("live delivery needs the preference center's unsubscribe links: set OUTREACH_LINK_SECRET and OUTREACH_PUBLIC_URL")
	}
	email, err := sendgrid.New(sendgrid.Config{
		APIKey: l.SendGridAPIKey, BaseURL: l.SendGridBaseURL, From: l.SendGridFrom, FromName: l.SendGridFromName,
		Unsubscribe: footer, Sandbox: l.SendGridSandbox,
	})
	if err != nil {
		return nil, err
	}
	tw := twilio.Config{AccountSID: l.TwilioAccountSID, AuthToken: l.TwilioAuthToken, From: l.TwilioFrom,
		BaseURL: l.TwilioBaseURL, CallbackBase: l.PublicURL}
	sms, err := twilio.New(tw, channel.SMS)
	if err != nil {
		return nil, err
	}
	voice, err := twilio.New(tw, channel.Voice)
	if err != nil {
		return nil, err
	}
	mail, err := postal.New(postal.Config{APIKey: l.PostalAPIKey, BaseURL: l.PostalBaseURL, FromAddressID: l.PostalFromAddressID})
	if err != nil {
		return nil, err
	}
	return map[channel.Name]channel.Sender{channel.Email: email, channel.SMS: sms, channel.Voice: voice, channel.Mail: mail}, nil
}

// WebhookHandler builds the provider webhook handler.
func WebhookHandler(l config.Live, pool *pgxpool.Pool, c client.Client, logger *slog.Logger) http.Handler {
	return &webhook.Handler{
		DB: pool, Temporal: c, SendGridKey: l.SendGridWebhookKey, TwilioAuthToken: l.TwilioAuthToken,
		PublicURL: l.PublicURL, Logger: logger,
	}
}
