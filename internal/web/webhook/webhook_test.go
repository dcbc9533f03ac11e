package webhook_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/web/webhook"
	"github.com/outreach-engine/outreach/workflows"
)

const (
	publicURL   = "https://hooks.shop.example"
	twilioToken = "twiliotoken0123"
)

// signals records what the handler sends to journeys. Integration tests in
// internal/e2e use a real Temporal server; here the signal's content is what
// matters.
type signals struct {
	mu   sync.Mutex
	got  []string
	gone map[string]bool
}

func (s *signals) SignalWorkflow(_ context.Context, workflowID, _, name string, arg any) error {
	if s.gone[workflowID] {
		return serviceerror.NewNotFound("workflow execution already completed")
	}
	e := arg.(workflows.Event)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, fmt.Sprintf("%s %s %s touch=%d", workflowID, name, e.Kind, e.TouchID))
	return nil
}

func (s *signals) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

type fixture struct {
	pool    *pgxpool.Pool
	key     *ecdsa.PrivateKey
	sig     *signals
	srv     *httptest.Server
	now     time.Time
	emailID int64
	smsID   int64
}

func setup(t *testing.T) *fixture {
	t.Helper()
	pool := testenv.Postgres(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	f := &fixture{pool: pool, key: key, sig: &signals{gone: map[string]bool{}}, now: time.Now()}
	h := &webhook.Handler{DB: pool, Temporal: f.sig, SendGridKey: &key.PublicKey, TwilioAuthToken: twilioToken,
		PublicURL: publicURL, Now: func() time.Time { return f.now }}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)

	ctx := context.Background()
	c := customer.Customer{ID: "c-1", Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+447700900001",
		TimeZone: "Europe/London", Consents: map[channel.Name]bool{channel.Email: true, channel.SMS: true}}
	c.Normalize()
	require.NoError(t, customer.Upsert(ctx, pool, c))
	f.emailID = sentTouch(t, pool, "journey:spring:c-1", "offer#1", channel.Email, "sg-1")
	f.smsID = sentTouch(t, pool, "journey:spring:c-1", "nudge#1", channel.SMS, "SM1")
	return f
}

func sentTouch(t *testing.T, pool *pgxpool.Pool, wf, step string, ch channel.Name, providerID string) int64 {
	t.Helper()
	ctx := context.Background()
	tc, err := ledger.Reserve(ctx, pool, ledger.Planned{Key: ledger.Key{WorkflowID: wf, EntryID: "run-1", StepKey: step},
		Journey: "spring", JourneyVersion: 1, CustomerID: "c-1", StepID: step, Channel: ch, Intent: channel.Promotional})
	require.NoError(t, err)
	require.NoError(t, ledger.MarkSending(ctx, pool, tc.ID))
	require.NoError(t, ledger.MarkSent(ctx, pool, tc.ID, providerID))
	return tc.ID
}

func (f *fixture) events(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, f.pool.QueryRow(context.Background(), `select count(*) from provider_events`).Scan(&n))
	return n
}

func (f *fixture) consent(t *testing.T, ch channel.Name) (bool, string) {
	t.Helper()
	var granted bool
	var source string
	require.NoError(t, f.pool.QueryRow(context.Background(),
		`select granted, source from consents where customer_id = 'c-1' and channel = $1`, string(ch)).Scan(&granted, &source))
	return granted, source
}

func (f *fixture) signSendGrid(t *testing.T, key *ecdsa.PrivateKey, ts time.Time, body string) (sig, stamp string) {
	t.Helper()
	stamp = strconv.FormatInt(ts.Unix(), 10)
	h := sha256.Sum256([]byte(stamp + body))
	der, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(der), stamp
}

func (f *fixture) postSendGrid(t *testing.T, body, sig, stamp string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+webhook.PathSendGrid, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", sig)
		req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", stamp)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

func (f *fixture) sendGridBatch() string {
	return fmt.Sprintf(`[
	 {"email":"ada@example.com","timestamp":%[1]d,"event":"delivered","sg_event_id":"ev-1","sg_message_id":"sg-1.x","touch_id":"%[2]d","customer_id":"c-1"},
	 {"email":"ada@example.com","timestamp":%[1]d,"event":"open","sg_event_id":"ev-2","sg_message_id":"sg-1.x","touch_id":"%[2]d","customer_id":"c-1"},
	 {"email":"ada@example.com","timestamp":%[1]d,"event":"bounce","type":"bounce","sg_event_id":"ev-3","sg_message_id":"sg-1.x","touch_id":"%[2]d","customer_id":"c-1"},
	 {"email":"someone@example.com","timestamp":%[1]d,"event":"open","sg_event_id":"ev-4"}
	]`, f.now.Unix(), f.emailID)
}

func TestSendGridWebhookRefusesUnsignedForgedAndExpired(t *testing.T) {
	t.Parallel()
	f := setup(t)
	body := f.sendGridBatch()
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)

	require.Equal(t, http.StatusUnauthorized, f.postSendGrid(t, body, "", ""), "unsigned")
	sig, stamp := f.signSendGrid(t, other, f.now, body)
	require.Equal(t, http.StatusForbidden, f.postSendGrid(t, body, sig, stamp), "signed with another key")
	sig, stamp = f.signSendGrid(t, f.key, f.now, body)
	require.Equal(t, http.StatusForbidden, f.postSendGrid(t, strings.Replace(body, "bounce", "open", 1), sig, stamp), "tampered body")
	require.Equal(t, http.StatusForbidden, f.postSendGrid(t, body, sig, strconv.FormatInt(f.now.Unix()+1, 10)), "tampered timestamp")
	sig, stamp = f.signSendGrid(t, f.key, f.now.Add(-10*time.Minute), body)
	require.Equal(t, http.StatusForbidden, f.postSendGrid(t, body, sig, stamp), "expired")
	require.Equal(t, http.StatusForbidden, f.postSendGrid(t, body, "bm90IGEgc2lnbmF0dXJl", stamp), "garbage signature")

	require.Zero(t, f.events(t), "nothing stored")
	granted, _ := f.consent(t, channel.Email)
	require.True(t, granted, "consent untouched")
	require.Empty(t, f.sig.list())
}

func TestSendGridEventsAreStoredOnceAndBounceRevokesEmail(t *testing.T) {
	t.Parallel()
	f := setup(t)
	body := f.sendGridBatch()
	sig, stamp := f.signSendGrid(t, f.key, f.now, body)
	require.Equal(t, http.StatusNoContent, f.postSendGrid(t, body, sig, stamp))
	require.Equal(t, http.StatusNoContent, f.postSendGrid(t, body, sig, stamp), "a replay is accepted")

	require.Equal(t, 3, f.events(t), "three events of our touch, each stored once; the foreign one ignored")
	granted, source := f.consent(t, channel.Email)
	require.False(t, granted, "a bounce withdraws email consent")
	require.Equal(t, "webhook", source)
	smsGranted, _ := f.consent(t, channel.SMS)
	require.True(t, smsGranted, "other channels are untouched")
	id := strconv.FormatInt(f.emailID, 10)
	require.Equal(t, []string{
		"journey:spring:c-1 event delivered touch=" + id,
		"journey:spring:c-1 event opened touch=" + id,
		"journey:spring:c-1 event bounced touch=" + id,
	}, f.sig.list(), "each event reaches the journey once")

	var customerID, ch string
	require.NoError(t, f.pool.QueryRow(context.Background(),
		`select customer_id, channel from provider_events where event_key = 'ev-2'`).Scan(&customerID, &ch))
	require.Equal(t, "c-1", customerID)
	require.Equal(t, "email", ch)
}

func TestDropsRevokeOnlyForSuppressedAddresses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	post := func(id, reason string) {
		body := fmt.Sprintf(`[{"event":"dropped","reason":%q,"sg_event_id":%q,"timestamp":%d,"touch_id":"%d"}]`,
			reason, id, f.now.Unix(), f.emailID)
		sig, stamp := f.signSendGrid(t, f.key, f.now, body)
		require.Equal(t, http.StatusNoContent, f.postSendGrid(t, body, sig, stamp))
	}
	post("drop-1", "Exceeded size limit")
	granted, _ := f.consent(t, channel.Email)
	require.True(t, granted, "a message too large says nothing about the address")
	post("drop-2", "Bounced Address")
	granted, _ = f.consent(t, channel.Email)
	require.False(t, granted)
}

func TestEventForAFinishedJourneyIsStillStored(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.sig.gone["journey:spring:c-1"] = true
	body := f.sendGridBatch()
	sig, stamp := f.signSendGrid(t, f.key, f.now, body)
	require.Equal(t, http.StatusNoContent, f.postSendGrid(t, body, sig, stamp))
	require.Equal(t, 3, f.events(t))
}

// twilioSignature is Twilio's documented scheme: HMAC-SHA1 over the URL
// followed by every POST parameter name and value, sorted by name.
func twilioSignature(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k + form.Get(k))
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (f *fixture) postTwilio(t *testing.T, pathAndQuery string, form url.Values, sig string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+pathAndQuery, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func TestTwilioStatusCallbackIsVerifiedAndDeduplicated(t *testing.T) {
	t.Parallel()
	f := setup(t)
	path := fmt.Sprintf("/webhooks/twilio/status?touch=%d", f.smsID)
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "To": {"+447700900001"}, "AccountSid": {"AC1"}}
	good := twilioSignature(twilioToken, publicURL+path, form)

	code, _ := f.postTwilio(t, path, form, "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = f.postTwilio(t, path, form, twilioSignature("wrongtoken", publicURL+path, form))
	require.Equal(t, http.StatusForbidden, code)
	// A valid signature for another touch cannot be replayed against this one.
	code, _ = f.postTwilio(t, fmt.Sprintf("/webhooks/twilio/status?touch=%d", f.emailID), form, good)
	require.Equal(t, http.StatusForbidden, code)
	require.Zero(t, f.events(t))

	for range 2 {
		code, _ = f.postTwilio(t, path, form, good)
		require.Equal(t, http.StatusNoContent, code)
	}
	require.Equal(t, 1, f.events(t))
	require.Equal(t, []string{fmt.Sprintf("journey:spring:c-1 event delivered touch=%d", f.smsID)}, f.sig.list())
}

func (f *fixture) inbound(t *testing.T, sid, text string) (int, string) {
	t.Helper()
	form := url.Values{"MessageSid": {sid}, "From": {"+447700900001"}, "To": {"+14155550100"}, "Body": {text}}
	return f.postTwilio(t, webhook.PathTwilioInbound, form, twilioSignature(twilioToken, publicURL+webhook.PathTwilioInbound, form))
}

func TestInboundStopHelpStartAndReplies(t *testing.T) {
	t.Parallel()
	f := setup(t)
	code, body := f.inbound(t, "SMin1", "Stop")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`, body)
	granted, source := f.consent(t, channel.SMS)
	require.False(t, granted, "STOP withdraws SMS consent at once")
	require.Equal(t, "webhook", source)
	emailGranted, _ := f.consent(t, channel.Email)
	require.True(t, emailGranted, "STOP concerns SMS only")

	code, body = f.inbound(t, "SMin2", "HELP")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "<Message>Reply STOP to opt out")

	code, body = f.inbound(t, "SMin3", "start")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "<Message>You are subscribed again.")
	granted, _ = f.consent(t, channel.SMS)
	require.True(t, granted, "START gives back what STOP took")

	code, _ = f.inbound(t, "SMin4", "Yes please, tell me more")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []string{fmt.Sprintf("journey:spring:c-1 event replied touch=%d", f.smsID)}, f.sig.list())

	code, _ = f.inbound(t, "SMin1", "Stop") // replayed
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 4, f.events(t))
}

func TestStartNeverGrantsConsentThatWasNotGiven(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := f.pool.Exec(context.Background(), `update consents set granted = false, source = 'import' where customer_id = 'c-1' and channel = 'sms'`)
	require.NoError(t, err)
	code, _ := f.inbound(t, "SMin9", "START")
	require.Equal(t, http.StatusOK, code)
	granted, _ := f.consent(t, channel.SMS)
	require.False(t, granted)
}
