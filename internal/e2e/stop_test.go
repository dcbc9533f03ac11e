package e2e

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
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/web/webhook"
	"github.com/outreach-engine/outreach/workflows"
)

const hooksURL = "https://hooks.shop.example"

func signTwilio(fullURL string, form url.Values) string {
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
	m := hmac.New(sha1.New, []byte(twilioToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// reminders is a second journey that also texts the customer after a wait.
func reminders(wait time.Duration) journey.Definition {
	return journey.Definition{
		Name: "reminders", Version: 1,
		Steps: []journey.Step{
			{ID: "pause", Kind: journey.StepWait, Wait: wait},
			{ID: "reminder-sms", Kind: journey.StepSend, Channel: channel.SMS, Intent: channel.Promotional, Template: "r"},
		},
		Templates: map[string]journey.Template{"r": {Body: "Hi {{.FirstName}}, your basket misses you."}},
	}
}

// TestStopMidJourneySkipsEverySMS runs two journeys for one customer through
// the real provider SDKs (against local fakes). While both wait before their
// text message, the customer texts STOP: the signed inbound webhook withdraws
// SMS consent, and both SMS steps end blocked with reason consent.sms;
// nothing reaches Twilio, while the email and the postcard still go out. An
// email open reaches the running journey as a signal.
func TestStopMidJourneySkipsEverySMS(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	ctx := context.Background()
	f := startFakes(t, pool)
	seedCustomer(t, pool, "c-stop", allConsents())
	startWorkers(t, c, &activities.Activities{DB: pool, Senders: f.senders})

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	hooks := httptest.NewServer(&webhook.Handler{DB: pool, Temporal: c, SendGridKey: &key.PublicKey,
		TwilioAuthToken: twilioToken, PublicURL: hooksURL})
	defer hooks.Close()

	welcome := journey.Welcome(5*time.Second, 100*time.Millisecond)
	welcomeID := workflows.WorkflowID(welcome.Name, "c-stop")
	run1, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: welcomeID, TaskQueue: workflows.TaskQueue},
		workflows.Journey, workflows.JourneyInput{CustomerID: "c-stop", Journey: welcome})
	require.NoError(t, err)
	rem := reminders(5 * time.Second)
	run2, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(rem.Name, "c-stop"), TaskQueue: workflows.TaskQueue},
		workflows.Journey, workflows.JourneyInput{CustomerID: "c-stop", Journey: rem})
	require.NoError(t, err)

	// The welcome email went out through SendGrid; the journeys now wait.
	var emailTouch int64
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		touches, err := ledger.ForWorkflow(ctx, pool, welcomeID)
		require.NoError(ct, err)
		require.Len(ct, touches, 1)
		require.Equal(ct, ledger.Sent, touches[0].Status)
		emailTouch = touches[0].ID
	}, 20*time.Second, 50*time.Millisecond)
	require.Len(t, f.sendgrid.Mails(), 1)

	// The customer texts STOP.
	form := url.Values{"MessageSid": {"SMinbound1"}, "From": {"+447700900001"}, "To": {"+14155550100"}, "Body": {"STOP"}}
	req, err := http.NewRequest(http.MethodPost, hooks.URL+webhook.PathTwilioInbound, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", signTwilio(hooksURL+webhook.PathTwilioInbound, form))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	// The customer opens the email: the running journey hears of it.
	body := fmt.Sprintf(`[{"event":"open","sg_event_id":"open-1","timestamp":%d,"touch_id":"%d","customer_id":"c-stop"}]`,
		time.Now().Unix(), emailTouch)
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	digest := sha256.Sum256([]byte(stamp + body))
	der, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	require.NoError(t, err)
	req, err = http.NewRequest(http.MethodPost, hooks.URL+webhook.PathSendGrid, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(der))
	req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", stamp)
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNoContent, res.StatusCode)

	var r1, r2 workflows.JourneyResult
	require.NoError(t, run1.Get(ctx, &r1))
	require.NoError(t, run2.Get(ctx, &r2))
	for _, o := range append(r1.Steps, r2.Steps...) {
		if o.Channel == channel.SMS {
			assert.Equal(t, ledger.Blocked, o.Status, o.StepID)
			assert.Equal(t, "consent.sms", o.Reason, o.StepID)
		}
	}
	assert.Equal(t, 2, r1.Count(ledger.Sent), "email and postcard still go out")
	assert.Empty(t, f.twilio.Messages(), "no text reached Twilio after STOP")
	assert.Len(t, f.postal.Pieces(), 1)

	touches, err := ledger.ForCustomer(ctx, pool, "c-stop")
	require.NoError(t, err)
	blocked := 0
	for _, tc := range touches {
		if tc.Channel == channel.SMS {
			assert.Equal(t, ledger.Blocked, tc.Status)
			assert.Equal(t, "consent.sms", tc.Reason)
			blocked++
		}
	}
	assert.Equal(t, 2, blocked, "the SMS step of every running journey")

	signalled := false
	iter := c.GetWorkflowHistory(ctx, welcomeID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == workflows.SignalEvent {
			signalled = true
		}
	}
	assert.True(t, signalled, "the open reached the journey as a signal")
}

// TestJourneyRetryAfterDroppedConnectionSendsOnce: Twilio accepts the text
// and hangs up; Temporal retries the Deliver activity, which finds the
// message through the API instead of sending it again.
func TestJourneyRetryAfterDroppedConnectionSendsOnce(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	ctx := context.Background()
	f := startFakes(t, pool)
	seedCustomer(t, pool, "c-hangup", allConsents())
	startWorkers(t, c, &activities.Activities{DB: pool, Senders: f.senders})

	f.twilio.DropNext()
	def := reminders(100 * time.Millisecond)
	id := workflows.WorkflowID(def.Name, "c-hangup")
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.Journey, workflows.JourneyInput{CustomerID: "c-hangup", Journey: def})
	require.NoError(t, err)
	var res workflows.JourneyResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, 1, res.Count(ledger.Sent))

	msgs := f.twilio.Messages()
	require.Len(t, msgs, 1, "exactly one text reached Twilio")
	touches, err := ledger.ForWorkflow(ctx, pool, id)
	require.NoError(t, err)
	require.Len(t, touches, 1)
	require.Equal(t, ledger.Sent, touches[0].Status)
	require.Equal(t, msgs[0].SID, touches[0].ProviderID, "the ledger agrees with the provider")
	require.GreaterOrEqual(t, touches[0].Attempts, 2, "the send was retried")
}

// TestRejectedTextInAJourney: Twilio refuses the customer's number; the
// journey records the provider's reason, the same as the ledger, and goes on.
func TestRejectedTextInAJourney(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	ctx := context.Background()
	f := startFakes(t, pool)
	seedCustomer(t, pool, "c-badnum", allConsents())
	_, err := pool.Exec(ctx, `update customers set phone = '+15550001234' where id = 'c-badnum'`)
	require.NoError(t, err)
	startWorkers(t, c, &activities.Activities{DB: pool, Senders: f.senders})

	def := reminders(10 * time.Millisecond)
	id := workflows.WorkflowID(def.Name, "c-badnum")
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.Journey, workflows.JourneyInput{CustomerID: "c-badnum", Journey: def})
	require.NoError(t, err)
	var res workflows.JourneyResult
	require.NoError(t, run.Get(ctx, &res))
	last := res.Steps[len(res.Steps)-1]
	require.Equal(t, ledger.Failed, last.Status)
	require.Equal(t, "provider.rejected", last.Reason)
	touches, err := ledger.ForWorkflow(ctx, pool, id)
	require.NoError(t, err)
	require.Len(t, touches, 1)
	require.Equal(t, "provider.rejected", touches[0].Reason)
	require.Equal(t, 1, touches[0].Attempts, "a rejection is not retried")
	require.Empty(t, f.twilio.Messages())
}
