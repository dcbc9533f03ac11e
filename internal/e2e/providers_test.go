package e2e

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/postal"
	"github.com/outreach-engine/outreach/internal/channel/providertest"
	"github.com/outreach-engine/outreach/internal/channel/sendgrid"
	"github.com/outreach-engine/outreach/internal/channel/twilio"
	"github.com/outreach-engine/outreach/internal/config"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/links"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/workerapp"
)

const (
	twilioSID   = "AC00000000000000000000000000000001"
	twilioToken = "authtoken0123456789"
)

// liveFakes starts a fake of every provider, the worker's public HTTP server
// (the preference center) and the real senders pointed at them.
type liveFakes struct {
	sendgrid *providertest.SendGrid
	twilio   *providertest.Twilio
	postal   *providertest.Postal
	senders  map[channel.Name]channel.Sender
	// web is the worker's public HTTP server: one-click unsubscribe links
	// in SendGrid's headers point at it.
	web    *httptest.Server
	footer *links.Footer
}

func startFakes(t *testing.T, pool *pgxpool.Pool) *liveFakes {
	t.Helper()
	f := &liveFakes{
		sendgrid: providertest.NewSendGrid("SG.key"),
		twilio:   providertest.NewTwilio(twilioSID, twilioToken),
		postal:   providertest.NewPostal("test_key"),
	}
	t.Cleanup(f.sendgrid.Close)
	t.Cleanup(f.twilio.Close)
	t.Cleanup(f.postal.Close)
	// The web is built as the worker builds it, on the address it will serve.
	f.web = httptest.NewUnstartedServer(nil)
	web, err := workerapp.NewWeb(config.Web{PublicURL: "http://" + f.web.Listener.Addr().String(),
		LinkSecret: []byte("link-secret-0123456789"), LinkTTL: time.Hour, BrandName: "Shop"}, pool, nil, slog.Default())
	require.NoError(t, err)
	f.web.Config.Handler = web.Mux
	f.web.Start()
	t.Cleanup(f.web.Close)
	f.footer = web.Footer
	email, err := sendgrid.New(sendgrid.Config{APIKey: "SG.key", BaseURL: f.sendgrid.URL, From: "hello@shop.example",
		Unsubscribe: web.Footer})
	require.NoError(t, err)
	tw := twilio.Config{AccountSID: twilioSID, AuthToken: twilioToken, From: "+14155550100", BaseURL: f.twilio.URL,
		CallbackBase: "https://hooks.shop.example", Timeout: 5 * time.Second}
	sms, err := twilio.New(tw, channel.SMS)
	require.NoError(t, err)
	voice, err := twilio.New(tw, channel.Voice)
	require.NoError(t, err)
	// Go's transport by itself replays a request carrying an Idempotency-Key
	// when a reused connection drops; without keep-alives the drop reaches
	// Deliver, which is the path under test.
	mail, err := postal.New(postal.Config{APIKey: "test_key", BaseURL: f.postal.URL, FromAddressID: "adr_shop",
		HTTP: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}})
	require.NoError(t, err)
	f.senders = map[channel.Name]channel.Sender{channel.Email: email, channel.SMS: sms, channel.Voice: voice, channel.Mail: mail}
	return f
}

func deliverInput(customerID string, ch channel.Name, intent channel.Intent) activities.DeliverInput {
	return activities.DeliverInput{
		Planned: ledger.Planned{
			Key:     ledger.Key{WorkflowID: "journey:live:" + customerID, EntryID: "run-1", StepKey: string(ch) + "#1"},
			Journey: "live", JourneyVersion: 1, CustomerID: customerID,
			StepID: string(ch), Channel: ch, Intent: intent,
		},
		Template: journey.Template{Subject: "For you, {{.FirstName}}", Body: "Hi {{.FirstName}}, here is your update."},
	}
}

func deliverOnce(t *testing.T, acts *activities.Activities, in activities.DeliverInput) (activities.DeliverResult, error) {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	v, err := env.ExecuteActivity(acts.Deliver, in)
	if err != nil {
		return activities.DeliverResult{}, err
	}
	var res activities.DeliverResult
	require.NoError(t, v.Get(&res))
	return res, nil
}

func onlyTouch(t *testing.T, pool *pgxpool.Pool, customerID string) ledger.Touch {
	t.Helper()
	ts, err := ledger.ForCustomer(context.Background(), pool, customerID)
	require.NoError(t, err)
	require.Len(t, ts, 1)
	return ts[0]
}

// TestDroppedConnectionSendsExactlyOnce makes each provider accept a message
// and then hang up without answering, and runs Deliver again as Temporal's
// retry would. The ledger and the provider must agree on one message, except
// where the documented per-intent choice says otherwise.
func TestDroppedConnectionSendsExactlyOnce(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	cases := []struct {
		name       string
		ch         channel.Name
		intent     channel.Intent
		wantStatus ledger.Status
		wantReason string
		// wantAtProvider is how many messages the provider ends up with.
		wantAtProvider int
	}{
		{"twilio sms reconciles by listing messages", channel.SMS, channel.Promotional, ledger.Sent, "", 1},
		{"twilio voice reconciles by listing calls", channel.Voice, channel.Transactional, ledger.Sent, "", 1},
		{"postal replays its idempotency key", channel.Mail, channel.Promotional, ledger.Sent, "", 1},
		{"sendgrid promotional is at most once", channel.Email, channel.Promotional, ledger.Failed, activities.ReasonAmbiguous, 1},
		{"sendgrid transactional is at least once", channel.Email, channel.Transactional, ledger.Sent, "", 2},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := startFakes(t, pool)
			customerID := "c-drop-" + string(rune('a'+i))
			seedCustomer(t, pool, customerID, allConsents())
			acts := &activities.Activities{DB: pool, Senders: f.senders}
			atProvider := func() int {
				switch tc.ch {
				case channel.SMS:
					return len(f.twilio.Messages())
				case channel.Voice:
					return len(f.twilio.Calls())
				case channel.Mail:
					return len(f.postal.Pieces())
				}
				return len(f.sendgrid.Mails())
			}
			f.sendgrid.DropNext()
			f.twilio.DropNext()
			f.postal.DropNext()

			in := deliverInput(customerID, tc.ch, tc.intent)
			_, err := deliverOnce(t, acts, in)
			require.Error(t, err, "the first attempt lost the answer")
			require.Equal(t, 1, atProvider(), "the provider accepted the first attempt")
			require.Equal(t, ledger.Sending, onlyTouch(t, pool, customerID).Status)

			res, err := deliverOnce(t, acts, in)
			require.NoError(t, err)
			require.Equal(t, tc.wantStatus, res.Status)
			require.Equal(t, tc.wantReason, res.Reason)
			require.Equal(t, tc.wantAtProvider, atProvider())

			touch := onlyTouch(t, pool, customerID)
			require.Equal(t, tc.wantStatus, touch.Status)
			require.Equal(t, tc.wantReason, touch.Reason)
			if tc.ch == channel.SMS {
				require.Equal(t, f.twilio.Messages()[0].SID, touch.ProviderID, "the ledger names the message the customer got")
			}

			// A third run changes nothing.
			again, err := deliverOnce(t, acts, in)
			require.NoError(t, err)
			require.Equal(t, tc.wantStatus, again.Status)
			require.Equal(t, tc.wantAtProvider, atProvider())
		})
	}
}

// TestRejectionIsRecordedAndNotRetried: Twilio refuses the number; the touch
// fails for good with the provider's reason and the error is non-retryable.
func TestRejectionIsRecordedAndNotRetried(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	f := startFakes(t, pool)
	seedCustomer(t, pool, "c-reject", allConsents())
	_, err := pool.Exec(context.Background(), `update customers set phone = '+15550001234' where id = 'c-reject'`)
	require.NoError(t, err)
	acts := &activities.Activities{DB: pool, Senders: f.senders}
	_, err = deliverOnce(t, acts, deliverInput("c-reject", channel.SMS, channel.Transactional))
	require.Error(t, err)
	require.Contains(t, err.Error(), channel.ErrTypeProviderRejected)
	touch := onlyTouch(t, pool, "c-reject")
	require.Equal(t, ledger.Failed, touch.Status)
	require.Equal(t, "provider.rejected", touch.Reason)

	// Caring voice is refused before any call.
	seedCustomer(t, pool, "c-caring", allConsents())
	_, err = deliverOnce(t, acts, deliverInput("c-caring", channel.Voice, channel.Caring))
	require.Error(t, err)
	require.Contains(t, err.Error(), activities.ErrTypeHumanOnly)
	caring, err := ledger.ForCustomer(context.Background(), pool, "c-caring")
	require.NoError(t, err)
	require.Empty(t, caring, "refused before anything is reserved")
	require.Empty(t, f.twilio.Calls())
}

// TestRateLimitRetriesAfterTheProvidersDelay: a 429 with Retry-After
// becomes a retryable error carrying that delay, the touch goes back to
// reserved (the provider took nothing), and the retry sends exactly once.
func TestRateLimitRetriesAfterTheProvidersDelay(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	f := startFakes(t, pool)
	acts := &activities.Activities{DB: pool, Senders: f.senders}
	for _, tc := range []struct {
		ch   channel.Name
		fail func(int, string)
		sent func() int
	}{
		{channel.Email, f.sendgrid.FailNext, func() int { return len(f.sendgrid.Mails()) }},
		{channel.SMS, f.twilio.FailNext, func() int { return len(f.twilio.Messages()) }},
	} {
		customerID := "c-429-" + string(tc.ch)
		seedCustomer(t, pool, customerID, allConsents())
		in := deliverInput(customerID, tc.ch, channel.Promotional)

		tc.fail(http.StatusTooManyRequests, "30")
		_, err := deliverOnce(t, acts, in)
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, err, &appErr, "%s", tc.ch)
		require.False(t, appErr.NonRetryable())
		require.Equal(t, channel.ErrTypeRateLimited, appErr.Type())
		require.Equal(t, 30*time.Second, appErr.NextRetryDelay())
		require.Equal(t, ledger.Reserved, onlyTouch(t, pool, customerID).Status)

		tc.fail(http.StatusServiceUnavailable, "")
		_, err = deliverOnce(t, acts, in)
		require.ErrorAs(t, err, &appErr)
		require.False(t, appErr.NonRetryable(), "a server error retries under the workflow's bounded policy")
		require.Equal(t, ledger.Reserved, onlyTouch(t, pool, customerID).Status)

		res, err := deliverOnce(t, acts, in)
		require.NoError(t, err)
		require.Equal(t, ledger.Sent, res.Status)
		require.Equal(t, 1, tc.sent())
	}
}

// TestOneClickUnsubscribeFromSendGridHeaders plays a mailbox provider: it
// reads List-Unsubscribe from the request SendGrid received for a
// promotional email and POSTs to it with nothing but the RFC 8058 body.
// The worker's public server unsubscribes the customer from promotional
// email; receipts still flow, and carry no unsubscribe headers.
func TestOneClickUnsubscribeFromSendGridHeaders(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	f := startFakes(t, pool)
	seedCustomer(t, pool, "c-oneclick", allConsents())
	acts := &activities.Activities{DB: pool, Senders: f.senders, Links: f.footer}
	deliver := func(step string, intent channel.Intent) activities.DeliverResult {
		t.Helper()
		in := deliverInput("c-oneclick", channel.Email, intent)
		in.Key.StepKey, in.StepID = step+"#1", step
		res, err := deliverOnce(t, acts, in)
		require.NoError(t, err)
		return res
	}

	offer := deliver("spring-offer", channel.Promotional)
	require.Equal(t, ledger.Sent, offer.Status)
	mails := f.sendgrid.Mails()
	require.Len(t, mails, 1)
	headers, _ := mails[0]["headers"].(map[string]any)
	require.Equal(t, "List-Unsubscribe=One-Click", headers["List-Unsubscribe-Post"])
	link, _ := headers["List-Unsubscribe"].(string)
	require.True(t, strings.HasPrefix(link, "<"+f.web.URL+"/u/") && strings.HasSuffix(link, ">"), "link %q", link)
	link = strings.TrimSuffix(strings.TrimPrefix(link, "<"), ">")

	res, err := http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	blocked := deliver("summer-offer", channel.Promotional)
	require.Equal(t, ledger.Blocked, blocked.Status)
	require.Equal(t, "suppression.email.promotional", blocked.Reason)
	require.Len(t, f.sendgrid.Mails(), 1, "no further offer reached SendGrid")

	receipt := deliver("order-receipt", channel.Transactional)
	require.Equal(t, ledger.Sent, receipt.Status, "transactional email still flows")
	mails = f.sendgrid.Mails()
	require.Len(t, mails, 2)
	require.NotContains(t, mails[1], "headers", "a receipt carries no unsubscribe headers")

	// A link signed with another secret unsubscribes no one.
	other, err := links.NewSigner([]byte("another-secret-0123456789"), nil)
	require.NoError(t, err)
	forged, err := other.Sign("c-oneclick", offer.TouchID)
	require.NoError(t, err)
	res, err = http.Post(f.web.URL+"/u/"+forged, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusForbidden, res.StatusCode)
}
