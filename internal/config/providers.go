package config

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Live is the configuration of live delivery and of the webhook server.
// Its secrets are never logged: Live has a String method that redacts them.
type Live struct {
	HTTPAddr  string
	PublicURL string

	SendGridAPIKey     string
	SendGridBaseURL    string
	SendGridFrom       string
	SendGridFromName   string
	SendGridSandbox    bool
	SendGridWebhookKey *ecdsa.PublicKey

	TwilioAccountSID string
	TwilioAuthToken  string
	TwilioFrom       string
	TwilioBaseURL    string

	PostalAPIKey        string
	PostalBaseURL       string
	PostalFromAddressID string
}

// String shows which parts are configured, never a secret.
func (l Live) String() string {
	set := func(s string) string {
		if s == "" {
			return "unset"
		}
		return "set"
	}
	return fmt.Sprintf("http=%q public=%q sendgrid=%s twilio=%s postal=%s",
		l.HTTPAddr, l.PublicURL, set(l.SendGridAPIKey), set(l.TwilioAuthToken), set(l.PostalAPIKey))
}

// loadLive reads the provider settings. In live mode every provider's
// credentials are required, so a worker never starts half able to deliver.
func loadLive(live bool) (Live, error) {
	l := Live{
		HTTPAddr:            env("OUTREACH_HTTP_ADDR"),
		PublicURL:           strings.TrimRight(env("OUTREACH_PUBLIC_URL"), "/"),
		SendGridAPIKey:      env("SENDGRID_API_KEY"),
		SendGridBaseURL:     env("SENDGRID_BASE_URL"),
		SendGridFrom:        env("SENDGRID_FROM_EMAIL"),
		SendGridFromName:    env("SENDGRID_FROM_NAME"),
		TwilioAccountSID:    env("TWILIO_ACCOUNT_SID"),
		TwilioAuthToken:     env("TWILIO_AUTH_TOKEN"),
		TwilioFrom:          env("TWILIO_FROM_NUMBER"),
		TwilioBaseURL:       env("TWILIO_BASE_URL"),
		PostalAPIKey:        env("POSTAL_API_KEY"),
		PostalBaseURL:       env("POSTAL_BASE_URL"),
		PostalFromAddressID: env("POSTAL_FROM_ADDRESS_ID"),
	}
	var errs []error
	sandbox, err := strconv.ParseBool(env("SENDGRID_SANDBOX_MODE"))
	if err != nil {
		errs = append(errs, fmt.Errorf("SENDGRID_SANDBOX_MODE: %q is not true or false", env("SENDGRID_SANDBOX_MODE")))
	}
	l.SendGridSandbox = sandbox
	if k := env("SENDGRID_WEBHOOK_PUBLIC_KEY"); k != "" {
		if l.SendGridWebhookKey, err = ParseECDSAPublicKey(k); err != nil {
			errs = append(errs, fmt.Errorf("SENDGRID_WEBHOOK_PUBLIC_KEY: %w", err))
		}
	}
	for _, u := range []struct{ name, v string }{
		{"OUTREACH_PUBLIC_URL", l.PublicURL}, {"SENDGRID_BASE_URL", l.SendGridBaseURL},
		{"TWILIO_BASE_URL", l.TwilioBaseURL}, {"POSTAL_BASE_URL", l.PostalBaseURL},
	} {
		if u.v == "" {
			continue
		}
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", u.name, u.v))
		}
	}
	if live {
		// Promotional email carries the preference center's one-click
		// unsubscribe link, so live mode needs the link secret too.
		for _, r := range []struct{ name, v string }{
			{"OUTREACH_PUBLIC_URL", l.PublicURL}, {"OUTREACH_LINK_SECRET", env("OUTREACH_LINK_SECRET")},
			{"SENDGRID_API_KEY", l.SendGridAPIKey}, {"SENDGRID_FROM_EMAIL", l.SendGridFrom},
			{"TWILIO_ACCOUNT_SID", l.TwilioAccountSID}, {"TWILIO_AUTH_TOKEN", l.TwilioAuthToken},
			{"TWILIO_FROM_NUMBER", l.TwilioFrom},
			{"POSTAL_API_KEY", l.PostalAPIKey}, {"POSTAL_FROM_ADDRESS_ID", l.PostalFromAddressID},
		} {
			if r.v == "" {
				errs = append(errs, fmt.Errorf("%s is required when OUTREACH_DELIVERY_MODE=live", r.name))
			}
		}
	}
	return l, errors.Join(errs...)
}

// ParseECDSAPublicKey reads a base64 DER (PKIX) ECDSA public key, the form
// SendGrid shows for the signed Event Webhook.
func ParseECDSAPublicKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("not base64")
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("not a PKIX public key")
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("not an ECDSA key")
	}
	return k, nil
}
