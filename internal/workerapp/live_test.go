package workerapp

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/postal"
	"github.com/outreach-engine/outreach/internal/channel/sendgrid"
	"github.com/outreach-engine/outreach/internal/channel/twilio"
	"github.com/outreach-engine/outreach/internal/config"
	"github.com/outreach-engine/outreach/internal/links"
)

func live() config.Live {
	return config.Live{
		PublicURL:      "https://hooks.shop.example",
		SendGridAPIKey: "SG.key", SendGridFrom: "hello@shop.example",
		TwilioAccountSID: "AC1", TwilioAuthToken: "token1", TwilioFrom: "+14155550100",
		PostalAPIKey: "key", PostalFromAddressID: "adr_1",
	}
}

func footer(t *testing.T) *links.Footer {
	t.Helper()
	signer, err := links.NewSigner([]byte("link-secret-0123456789"), nil)
	require.NoError(t, err)
	return &links.Footer{Signer: signer, BaseURL: "https://hooks.shop.example"}
}

func TestLiveSendersCoverEveryChannel(t *testing.T) {
	t.Parallel()
	senders, err := LiveSenders(live(), footer(t))
	require.NoError(t, err)
	require.IsType(t, &sendgrid.Sender{}, senders[channel.Email])
	require.IsType(t, &twilio.Sender{}, senders[channel.SMS])
	require.Equal(t, channel.Voice, senders[channel.Voice].(*twilio.Sender).Channel)
	require.IsType(t, &postal.Sender{}, senders[channel.Mail])
	for _, ch := range channel.All {
		require.Contains(t, senders, ch)
	}

	bad := live()
	bad.TwilioFrom = "0415555"
	_, err = LiveSenders(bad, footer(t))
	require.ErrorContains(t, err, "not E.164")

	_, err = LiveSenders(live(), nil)
	require.ErrorContains(t, err, "OUTREACH_LINK_SECRET and OUTREACH_PUBLIC_URL")
}

func TestWebhookHandlerRefusesUnsignedRequests(t *testing.T) {
	t.Parallel()
	h := WebhookHandler(live(), nil, nil, nil)
	for _, path := range []string{"/webhooks/sendgrid", "/webhooks/twilio/inbound", "/webhooks/twilio/status?touch=1"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		require.Equal(t, http.StatusUnauthorized, rec.Code, path)
	}
}
