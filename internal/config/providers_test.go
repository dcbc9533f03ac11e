package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func liveEnv(t *testing.T) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	for k, v := range map[string]string{
		"OUTREACH_DELIVERY_MODE": "live", "OUTREACH_PUBLIC_URL": "https://hooks.shop.example/",
		"OUTREACH_LINK_SECRET": "s3cret-link-key-of-32-bytes-or-more", "OUTREACH_HTTP_ADDR": ":8081",
		"SENDGRID_API_KEY": "SG.supersecret", "SENDGRID_FROM_EMAIL": "hello@shop.example",
		"SENDGRID_WEBHOOK_PUBLIC_KEY": base64.StdEncoding.EncodeToString(der),
		"TWILIO_ACCOUNT_SID":          "AC123", "TWILIO_AUTH_TOKEN": "twiliosecret", "TWILIO_FROM_NUMBER": "+14155550100",
		"POSTAL_API_KEY": "postalsecret", "POSTAL_FROM_ADDRESS_ID": "adr_1",
	} {
		t.Setenv(k, v)
	}
}

func TestLiveModeLoadsProvidersAndNeverShowsSecrets(t *testing.T) {
	liveEnv(t)
	c, err := Load()
	require.NoError(t, err)
	require.Equal(t, "live", c.DeliveryMode)
	require.Equal(t, "https://hooks.shop.example", c.Live.PublicURL)
	require.Equal(t, "https://api.sendgrid.com", c.Live.SendGridBaseURL)
	require.NotNil(t, c.Live.SendGridWebhookKey)
	shown := c.Live.String()
	for _, secret := range []string{"SG.supersecret", "twiliosecret", "postalsecret", "s3cret-link-key"} {
		require.NotContains(t, shown, secret)
	}
}

func TestLiveModeNamesEveryMissingCredential(t *testing.T) {
	liveEnv(t)
	t.Setenv("SENDGRID_API_KEY", "")
	t.Setenv("TWILIO_FROM_NUMBER", "")
	t.Setenv("POSTAL_BASE_URL", "ftp://mail.example")
	t.Setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", "bm90IGEga2V5")
	t.Setenv("OUTREACH_LINK_SECRET", "")
	_, err := Load()
	require.Error(t, err)
	for _, want := range []string{"SENDGRID_API_KEY is required", "TWILIO_FROM_NUMBER is required",
		"OUTREACH_LINK_SECRET is required",
		"POSTAL_BASE_URL", "SENDGRID_WEBHOOK_PUBLIC_KEY: not a PKIX public key"} {
		require.Contains(t, err.Error(), want)
	}
}

func TestSandboxModeNeedsNoCredentials(t *testing.T) {
	t.Setenv("OUTREACH_DELIVERY_MODE", "sandbox")
	c, err := Load()
	require.NoError(t, err)
	require.Equal(t, "sandbox", c.DeliveryMode)
	t.Setenv("OUTREACH_DELIVERY_MODE", "carrier-pigeon")
	_, err = Load()
	require.True(t, strings.Contains(err.Error(), "want sandbox or live"))
}
