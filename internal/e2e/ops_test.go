package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/codec"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/opsserver"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/workflows"
)

// The customer whose details must never reach a workflow history.
var grace = customer.Customer{
	ID: "c-pii", Name: "Grace Brewster Hopper", Email: "grace.hopper@example.org", Phone: "+15550100777",
	Address:  &customer.Address{Line1: "49 Navy Yard Road", City: "Arlington", PostalCode: "22201", Country: "US"},
	TimeZone: "America/New_York",
	Consents: map[channel.Name]bool{channel.Email: true, channel.SMS: true, channel.Mail: true},
}

// piiOf lists the strings of c that count as personal data.
func piiOf(c customer.Customer) []string {
	return []string{c.Name, "Grace", "Hopper", c.Email, c.Phone, "5550100777", c.Address.Line1, c.Address.City}
}

// runJourney runs the welcome journey for grace through client c (which
// may encrypt) and returns the raw bytes of every history event.
func runJourney(t *testing.T, c client.Client) (history []byte, startInput *commonpb.Payloads) {
	t.Helper()
	pool := testenv.Postgres(t)
	ctx := context.Background()
	g := grace
	g.Normalize()
	require.NoError(t, g.Validate())
	require.NoError(t, customer.Upsert(ctx, pool, g))
	startWorkers(t, c, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool)})

	def := journey.Welcome(10*time.Millisecond, 10*time.Millisecond)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WorkflowID(def.Name, g.ID), TaskQueue: workflows.TaskQueue, Memo: workflows.StartMemo(def),
	}, workflows.Journey, workflows.JourneyInput{CustomerID: g.ID, Journey: def})
	require.NoError(t, err)
	var res workflows.JourneyResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, 3, res.Count(ledger.Sent))
	// The messages really went out with the customer's details: the PII
	// exists in the engine, just not in Temporal.
	recs, err := sandbox.ForCustomer(ctx, pool, g.ID)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	assert.Equal(t, g.Email, recs[0].Recipient)

	var buf bytes.Buffer
	iter := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	events := 0
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		raw, err := proto.Marshal(ev)
		require.NoError(t, err)
		buf.Write(raw)
		events++
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			startInput = a.GetInput()
		}
	}
	require.Greater(t, events, 10)
	require.NotNil(t, startInput)
	return buf.Bytes(), startInput
}

func assertNoPII(t *testing.T, history []byte) {
	t.Helper()
	for _, s := range piiOf(grace) {
		assert.False(t, bytes.Contains(history, []byte(s)), "the history holds %q", s)
	}
}

// Workflow inputs, results, activity arguments and results carry ids: even
// without encryption no history holds the customer's details.
func TestHistoryCarriesIdsNotPII(t *testing.T) {
	t.Parallel()
	history, _ := runJourney(t, testenv.Temporal(t))
	assertNoPII(t, history)
	// The scan sees payload contents: the template text travels in clear here.
	assert.True(t, bytes.Contains(history, []byte("three quick tips")))
	assert.True(t, bytes.Contains(history, []byte(grace.ID)))
}

// With payload encryption on, the history holds ciphertext only, and the
// codec endpoint gives an authorized operator the plain payloads back.
func TestEncryptedHistoryDecodesThroughCodecEndpoint(t *testing.T) {
	t.Parallel()
	key := make([]byte, codec.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	cod, err := codec.ParseKeys("k1:" + base64.StdEncoding.EncodeToString(key))
	require.NoError(t, err)
	srv := testenv.TemporalServer(t)
	dc := codec.DataConverter(cod)
	c, err := client.Dial(client.Options{
		HostPort: srv.FrontendHostPort(), Namespace: "default", Logger: testenv.QuietLogger(),
		DataConverter: dc, FailureConverter: codec.FailureConverter(dc),
	})
	require.NoError(t, err)
	t.Cleanup(c.Close)

	history, input := runJourney(t, c)
	assertNoPII(t, history)
	assert.False(t, bytes.Contains(history, []byte("three quick tips")), "payloads are encrypted")
	assert.True(t, bytes.Contains(history, []byte(codec.Encoding)))
	require.Len(t, input.Payloads, 1)
	assert.Equal(t, codec.Encoding, string(input.Payloads[0].Metadata[converter.MetadataEncoding]))

	// The finished journey is found by its customer id, the attribute being
	// in clear for the server to index.
	ctx := context.Background()
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: `CustomerId = "c-pii" AND JourneyName = "welcome" AND ExecutionStatus = "Completed" AND Outcome = "sent" AND LastChannel = "mail"`,
		})
		return err == nil && len(resp.Executions) == 1 && resp.Executions[0].Execution.WorkflowId == "journey:welcome:c-pii"
	}, 10*time.Second, 100*time.Millisecond)

	const token = "ops-team-token-0123456789"
	h, err := codec.Handler(cod, token, []string{"http://localhost:8233"})
	require.NoError(t, err)
	endpoint := httptest.NewServer(h)
	t.Cleanup(endpoint.Close)
	body, err := protojson.Marshal(input)
	require.NoError(t, err)

	post := func(auth string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, endpoint.URL+"/decode", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	assert.Equal(t, http.StatusUnauthorized, post("").StatusCode)
	assert.Equal(t, http.StatusUnauthorized, post("Bearer not-the-token-at-all!!").StatusCode)

	resp := post("Bearer " + token)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var decoded commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(raw, &decoded))
	require.Len(t, decoded.Payloads, 1)
	var in workflows.JourneyInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(decoded.Payloads[0], &in))
	assert.Equal(t, "c-pii", in.CustomerID)
	assert.Equal(t, "welcome", in.Journey.Name)
	plain, err := json.Marshal(in)
	require.NoError(t, err)
	assertNoPII(t, plain)
}

// A running journey is found by the step it waits in and by the outcome of
// its latest touch, and the touch is counted by channel, outcome and rule.
func TestRunningJourneyIsVisibleAndCounted(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	ctx := context.Background()
	seedCustomer(t, pool, "c-sms-only", map[channel.Name]bool{channel.SMS: true})
	metrics := opsserver.NewMetrics()
	startWorkers(t, c, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool), Metrics: metrics})

	def := journey.Welcome(time.Hour, time.Hour)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WorkflowID(def.Name, "c-sms-only"), TaskQueue: workflows.TaskQueue, Memo: workflows.StartMemo(def),
	}, workflows.Journey, workflows.JourneyInput{CustomerID: "c-sms-only", Journey: def})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), run.GetID(), "", "test over") })

	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: `JourneyName = "welcome" AND ExecutionStatus = "Running" AND JourneyStep = "pause-1" AND LastChannel = "email" AND Outcome = "blocked"`,
		})
		return err == nil && len(resp.Executions) == 1 && resp.Executions[0].Execution.WorkflowId == run.GetID()
	}, 15*time.Second, 100*time.Millisecond, "the waiting journey is not found by its step")

	desc, err := c.DescribeWorkflowExecution(ctx, run.GetID(), "")
	require.NoError(t, err)
	var name string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(desc.WorkflowExecutionInfo.Memo.Fields["journey"], &name))
	assert.Equal(t, "welcome", name)

	rec := httptest.NewRecorder()
	opsserver.New(opsserver.Options{Metrics: metrics}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	assert.Contains(t, rec.Body.String(), `outreach_touches_total{channel="email",outcome="blocked",rule="consent.email"} 1`)
	assert.NotContains(t, rec.Body.String(), "c-sms-only", "metrics carry no customer ids")
}
