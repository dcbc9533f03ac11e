package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/workflows"
)

var acts *activities.Activities

// harness is a time-skipping test environment with every activity mocked;
// it records the touches the journey asked for.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	// deliveries lists the Deliver inputs in order.
	deliveries []activities.DeliverInput
	// status decides what Deliver returns for a channel (sent by default).
	status map[channel.Name]ledger.Status
	calls  []workflows.CallTaskInput
	// callOutcome is what the call desk answers (expired by default).
	callOutcome calltask.Outcome
}

func newHarness(t *testing.T) *harness {
	var ts testsuite.WorkflowTestSuite
	h := &harness{t: t, env: ts.NewTestWorkflowEnvironment(), status: map[channel.Name]ledger.Status{}}
	h.env.RegisterWorkflowWithOptions(workflows.Journey, workflow.RegisterOptions{Name: "Journey"})
	h.env.RegisterActivity(&activities.Activities{})
	h.env.OnActivity(acts.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			h.deliveries = append(h.deliveries, in)
			st := h.status[in.Channel]
			if st == "" {
				st = ledger.Sent
			}
			reason := ""
			if st == ledger.Blocked {
				reason = "consent." + string(in.Channel)
			}
			return activities.DeliverResult{TouchID: int64(len(h.deliveries)), Status: st, Reason: reason}, nil
		}).Maybe()
	h.env.RegisterWorkflowWithOptions(workflows.CallTask, workflow.RegisterOptions{Name: workflows.CallTaskWorkflowName})
	h.env.OnWorkflow(workflows.CallTaskWorkflowName, mock.Anything, mock.Anything).Return(
		func(_ workflow.Context, in workflows.CallTaskInput) (workflows.CallTaskResult, error) {
			h.calls = append(h.calls, in)
			outcome := h.callOutcome
			if outcome == "" {
				outcome = calltask.Expired
			}
			return workflows.CallTaskResult{TaskID: 9, Outcome: outcome, TouchID: 100}, nil
		}).Maybe()
	return h
}

func (h *harness) run(def journey.Definition, customerID string) workflows.JourneyResult {
	h.t.Helper()
	require.NoError(h.t, def.Validate())
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.WorkflowID(def.Name, customerID)})
	h.env.ExecuteWorkflow(workflows.Journey, workflows.JourneyInput{CustomerID: customerID, Journey: def})
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
	var res workflows.JourneyResult
	require.NoError(h.t, h.env.GetWorkflowResult(&res))
	return res
}

func (h *harness) sentSteps() []string {
	var out []string
	for _, d := range h.deliveries {
		out = append(out, d.StepID+"/"+string(d.Channel))
	}
	return out
}

func path(res workflows.JourneyResult) string {
	ids := make([]string, len(res.Steps))
	for i, s := range res.Steps {
		ids[i] = s.StepID
		if s.Result != "" && s.Kind != "send" {
			ids[i] += "=" + s.Result
		}
	}
	return strings.Join(ids, " ")
}

func tmpl() map[string]journey.Template {
	return map[string]journey.Template{"t": {Subject: "Hi {{.FirstName}}", Body: "Hello {{.FirstName}}"}}
}

func send(id string, ch channel.Name, intent channel.Intent) journey.Step {
	return journey.Step{ID: id, Kind: journey.StepSend, Channel: ch, Intent: intent, Template: "t"}
}

func TestSixWeekJourneyCompletesInSeconds(t *testing.T) {
	h := newHarness(t)
	def := journey.Definition{Name: "six-weeks", Version: 1, Templates: tmpl(), Steps: []journey.Step{
		send("week-0", channel.Email, channel.Transactional),
		{ID: "two-weeks", Kind: journey.StepWait, Wait: 14 * 24 * time.Hour},
		send("week-2", channel.Email, channel.Promotional),
		{ID: "four-weeks", Kind: journey.StepWait, Wait: 28 * 24 * time.Hour},
		send("week-6", channel.Mail, channel.Promotional),
	}}
	begin, wall := h.env.Now(), time.Now()
	res := h.run(def, "c-1")
	assert.Less(t, time.Since(wall), 5*time.Second)
	assert.GreaterOrEqual(t, h.env.Now().Sub(begin), 42*24*time.Hour, "six weeks passed in workflow time")
	assert.Equal(t, []string{"week-0/email", "week-2/email", "week-6/mail"}, h.sentSteps())
	assert.Equal(t, 3, res.Count(ledger.Sent))
	assert.Equal(t, "week-0#1", h.deliveries[0].StepKey, "ledger step key is stepID#visit")
	assert.Equal(t, "journey:six-weeks:c-1", h.deliveries[0].WorkflowID)
}

func waitForDef() journey.Definition {
	return journey.Definition{Name: "wf", Version: 1, Templates: tmpl(), Steps: []journey.Step{
		send("hello", channel.Email, channel.Promotional),
		{ID: "wait-open", Kind: journey.StepWaitFor, Timeout: 3 * 24 * time.Hour, OnTimeout: "reminder",
			Events: []journey.EventBranch{{Event: "opened", Goto: "thanks"}, {Event: "clicked", Goto: "thanks"}}},
		send("reminder", channel.SMS, channel.Promotional),
		{ID: "end", Kind: journey.StepExit},
		send("thanks", channel.Email, channel.Promotional),
	}}
}

func TestWaitForEventArrives(t *testing.T) {
	h := newHarness(t)
	begin := h.env.Now()
	h.env.RegisterDelayedCallback(func() {
		// An event the step does not wait for changes nothing.
		h.env.SignalWorkflow(workflows.SignalEvent, workflows.Event{Kind: workflows.EventDelivered})
	}, time.Hour)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalEvent, workflows.Event{Kind: workflows.EventClicked, TouchID: 1})
	}, 5*time.Hour)
	res := h.run(waitForDef(), "c-1")
	assert.Equal(t, "hello wait-open=clicked thanks", path(res))
	assert.Equal(t, []string{"hello/email", "thanks/email"}, h.sentSteps())
	assert.Less(t, h.env.Now().Sub(begin), 6*time.Hour, "the journey went on when the event came, not at the timeout")
}

func TestWaitForTimeoutFires(t *testing.T) {
	h := newHarness(t)
	begin := h.env.Now()
	res := h.run(waitForDef(), "c-1")
	assert.Equal(t, "hello wait-open=timeout reminder end", path(res))
	assert.Equal(t, []string{"hello/email", "reminder/sms"}, h.sentSteps())
	assert.GreaterOrEqual(t, h.env.Now().Sub(begin), 3*24*time.Hour)
}

func TestEventBeforeTheWaitForStillCounts(t *testing.T) {
	h := newHarness(t)
	def := waitForDef()
	// A pause between the send and the wait_for: the open arrives during it.
	def.Steps = append(def.Steps[:1], append([]journey.Step{{ID: "pause", Kind: journey.StepWait, Wait: 24 * time.Hour}}, def.Steps[1:]...)...)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalEvent, workflows.Event{Kind: workflows.EventOpened})
	}, time.Hour)
	res := h.run(def, "c-1")
	assert.Equal(t, "hello pause wait-open=opened thanks", path(res))
}

func TestExitEventEndsTheJourneyAtOnce(t *testing.T) {
	h := newHarness(t)
	def := journey.Definition{Name: "cart", Version: 1, Templates: tmpl(), ExitOn: []string{"purchased"}, Steps: []journey.Step{
		send("reminder", channel.Email, channel.Promotional),
		{ID: "pause", Kind: journey.StepWait, Wait: 7 * 24 * time.Hour},
		send("nudge", channel.SMS, channel.Promotional),
	}}
	begin := h.env.Now()
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalEvent, workflows.Event{Kind: workflows.EventPurchased})
	}, 2*time.Hour)
	var state workflows.JourneyState
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&state))
	}, time.Hour)
	res := h.run(def, "c-1")
	assert.Equal(t, []string{"reminder/email"}, h.sentSteps(), "no nudge after the purchase")
	assert.Equal(t, "reminder pause=exited", path(res))
	assert.Less(t, h.env.Now().Sub(begin), 3*time.Hour)

	assert.Equal(t, "pause", state.CurrentStep)
	assert.Contains(t, state.Waiting, "until ")
	assert.Len(t, state.Steps, 1)
	assert.Equal(t, ledger.Sent, state.Steps[0].Status)
}

func TestBranchOnAttributeAsksAnActivity(t *testing.T) {
	h := newHarness(t)
	def := journey.Definition{Name: "br", Version: 1, Templates: tmpl(), Steps: []journey.Step{
		{ID: "by-plan", Kind: journey.StepBranch, Attribute: "plan", Default: "generic",
			Cases: []journey.Case{{When: "basic", Goto: "basic-offer"}, {When: "plus", Goto: "plus-offer"}}},
		send("basic-offer", channel.Email, channel.Promotional),
		send("plus-offer", channel.Email, channel.Promotional),
		{ID: "end", Kind: journey.StepExit},
		send("generic", channel.Email, channel.Promotional),
	}}
	def.Steps[1].Next = "end"
	def.Steps[2].Next = "end"
	var asked activities.BranchInput
	h.env.OnActivity(acts.EvaluateBranch, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BranchInput) (activities.BranchResult, error) {
			asked = in
			return activities.BranchResult{Case: 1}, nil
		})
	res := h.run(def, "c-1")
	assert.Equal(t, "by-plan=plus plus-offer end", path(res))
	assert.Equal(t, activities.BranchInput{CustomerID: "c-1", Attribute: "plan", Cases: []string{"basic", "plus"}}, asked)
}

func TestBranchOnWhatHappenedEarlierAndSendFallback(t *testing.T) {
	h := newHarness(t)
	h.status[channel.SMS] = ledger.Blocked
	h.status[channel.Voice] = ledger.Blocked
	def := journey.Definition{Name: "br", Version: 1, Templates: tmpl(), Steps: []journey.Step{
		send("text", channel.SMS, channel.Transactional),
		{ID: "did-it-go", Kind: journey.StepBranch, OutcomeOf: "text",
			Cases: []journey.Case{{When: "blocked", Goto: "letter"}}},
		{ID: "end", Kind: journey.StepExit},
		send("letter", channel.Mail, channel.Transactional),
	}}
	def.Steps[0].FallbackChannel = channel.Voice
	res := h.run(def, "c-1")
	assert.Equal(t, "text did-it-go=blocked letter", path(res))
	assert.Equal(t, []string{"text/sms", "text/voice", "letter/mail"}, h.sentSteps())
	assert.Equal(t, "text~fallback#1", h.deliveries[1].StepKey, "the fallback send has its own ledger key")
	assert.Contains(t, res.Steps[0].Reason, "fallback after sms blocked")
}

func TestSplitAssignsTheSameVariantEveryRun(t *testing.T) {
	def := journey.Definition{Name: "ab", Version: 1, Templates: tmpl(), Steps: []journey.Step{
		{ID: "offer", Kind: journey.StepSplit, Variants: []journey.Variant{
			{Name: "a", Weight: 50, Goto: "offer-a"}, {Name: "b", Weight: 50, Goto: "offer-b"}}},
		send("offer-a", channel.Email, channel.Promotional),
		{ID: "end", Kind: journey.StepExit},
		send("offer-b", channel.Email, channel.Promotional),
	}}
	seen := map[string]bool{}
	for _, customer := range []string{"c-1", "c-2", "c-3", "c-4", "c-5", "c-6"} {
		want := def.Steps[0].Variants[journey.PickVariant(customer, "ab", def.Steps[0])].Name
		for run := 0; run < 2; run++ {
			h := newHarness(t)
			res := h.run(def, customer)
			assert.Equal(t, want, res.Steps[0].Variant, "customer %s run %d", customer, run)
			assert.Equal(t, []string{"offer-" + want + "/email"}, h.sentSteps())
			assert.Equal(t, want, h.deliveries[0].Variant, "the touch carries its variant into the ledger")
		}
		seen[want] = true
	}
	assert.Len(t, seen, 2, "six customers fall into both variants")
}

func TestHumanCallTakesTheFallbackWhenNoOneCalls(t *testing.T) {
	h := newHarness(t)
	def := journey.Definition{Name: "care", Version: 1, Templates: tmpl(), Steps: []journey.Step{
		{ID: "call", Kind: journey.StepHumanCall, Reason: "wellness check-in", Template: "t",
			Deadline: 48 * time.Hour, FallbackStep: "note"},
		{ID: "end", Kind: journey.StepExit},
		send("note", channel.Email, channel.Caring),
	}}
	res := h.run(def, "c-1")
	assert.Equal(t, "call=expired note", path(res))
	require.Len(t, h.calls, 1)
	assert.Equal(t, "call#1", h.calls[0].StepKey)
	assert.Equal(t, "wellness check-in", h.calls[0].Reason)
	assert.Equal(t, "Hello {{.FirstName}}", h.calls[0].TalkingPoints.Body, "the agent gets the talking points")
	assert.Equal(t, 48*time.Hour, h.calls[0].Deadline)
	assert.Equal(t, "call.expired", res.Steps[0].Reason)
	assert.Equal(t, []string{"note/email"}, h.sentSteps(), "nothing is dialled automatically")
}

func TestHumanCallThatReachedTheCustomerGoesOn(t *testing.T) {
	h := newHarness(t)
	h.callOutcome = calltask.Reached
	def := journey.Definition{Name: "care", Version: 1, Templates: tmpl(), Steps: []journey.Step{
		{ID: "call", Kind: journey.StepHumanCall, Reason: "wellness check-in", Deadline: 48 * time.Hour, FallbackStep: "note"},
		{ID: "how", Kind: journey.StepBranch, OutcomeOf: "call", Default: "note",
			Cases: []journey.Case{{When: "reached", Goto: "end"}}},
		send("note", channel.Email, channel.Caring),
		{ID: "end", Kind: journey.StepExit},
	}}
	res := h.run(def, "c-1")
	assert.Equal(t, ledger.Sent, res.Steps[0].Status)
	assert.Equal(t, "call.reached", res.Steps[0].Reason)
	assert.Empty(t, h.sentSteps(), "reached: no note, and never an automated call")
}

func TestWaitUntilALocalTime(t *testing.T) {
	h := newHarness(t)
	def := journey.Definition{Name: "local", Version: 1, Templates: tmpl(), Steps: []journey.Step{
		{ID: "morning", Kind: journey.StepWait, Until: "next weekday 10:00"},
		send("hello", channel.Email, channel.Promotional),
	}}
	begin := h.env.Now()
	target := begin.Add(61 * time.Hour)
	h.env.OnActivity(acts.NextLocalTime, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LocalTimeInput) (time.Time, error) {
			assert.Equal(t, "next weekday 10:00", in.Until)
			assert.Equal(t, "c-1", in.CustomerID)
			return target, nil
		})
	var sentAt time.Time
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "Deliver" {
			sentAt = h.env.Now()
		}
	})
	h.run(def, "c-1")
	assert.WithinDuration(t, target, sentAt, time.Second)
}

func TestMaxWaitCapsEveryWait(t *testing.T) {
	h := newHarness(t)
	begin := h.env.Now()
	h.env.ExecuteWorkflow(workflows.Journey, workflows.JourneyInput{CustomerID: "c-1", Journey: waitForDef(), MaxWait: 2 * time.Second})
	require.NoError(t, h.env.GetWorkflowError())
	assert.Less(t, h.env.Now().Sub(begin), time.Minute)
	assert.Equal(t, []string{"hello/email", "reminder/sms"}, h.sentSteps())
}

// TestContinueAsNewCarriesTheState: when the server suggests it, the journey
// continues as new at its next step with its visit counts, so the ledger's
// step keys go on where they were.
func TestContinueAsNewCarriesTheState(t *testing.T) {
	def := journey.Definition{Name: "loop", Version: 1, Templates: tmpl(), Steps: []journey.Step{
		send("ping", channel.Email, channel.Promotional),
		{ID: "wait-click", Kind: journey.StepWaitFor, Timeout: 7 * 24 * time.Hour, OnTimeout: "ping",
			Events: []journey.EventBranch{{Event: "clicked"}}},
	}}
	h := newHarness(t)
	h.env.SetContinueAsNewSuggested(true)
	h.env.ExecuteWorkflow(workflows.Journey, workflows.JourneyInput{CustomerID: "c-1", Journey: def})
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(h.env.GetWorkflowError(), &can))
	var next workflows.JourneyInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.Resume)
	assert.Equal(t, "wait-click", next.Resume.Step)
	assert.Equal(t, map[string]int{"ping": 1}, next.Resume.Visits)
	assert.Equal(t, 1, next.Resume.StepsTotal)
	assert.Equal(t, def.Version, next.Journey.Version, "the definition travels on")

	// The next run times out, pings again (visit 2), then is clicked.
	h2 := newHarness(t)
	h2.env.RegisterDelayedCallback(func() {
		h2.env.SignalWorkflow(workflows.SignalEvent, workflows.Event{Kind: workflows.EventClicked})
	}, 8*24*time.Hour)
	h2.env.ExecuteWorkflow(workflows.Journey, next)
	require.NoError(t, h2.env.GetWorkflowError())
	var res workflows.JourneyResult
	require.NoError(t, h2.env.GetWorkflowResult(&res))
	assert.Equal(t, "ping wait-click=timeout ping wait-click=clicked", path(res))
	require.Len(t, h2.deliveries, 1)
	assert.Equal(t, "ping#2", h2.deliveries[0].StepKey)
}

func TestBadInputIsRefused(t *testing.T) {
	h := newHarness(t)
	def := waitForDef()
	def.Steps[1].OnTimeout = "nowhere"
	h.env.ExecuteWorkflow(workflows.Journey, workflows.JourneyInput{CustomerID: "c-1", Journey: def})
	err := h.env.GetWorkflowError()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"nowhere", which does not exist`)
	assert.Empty(t, h.deliveries)
}

// TestLoopingJourneyContinuesAsNewOnItsOwn: a journey that loops (resend
// until clicked) continues as new after a bounded number of steps even when
// the server never suggests it, so its history stays small.
func TestLoopingJourneyContinuesAsNewOnItsOwn(t *testing.T) {
	def := journey.Definition{Name: "loop", Version: 1, Templates: tmpl(), Steps: []journey.Step{
		send("ping", channel.Email, channel.Promotional),
		{ID: "wait-click", Kind: journey.StepWaitFor, Timeout: time.Hour, OnTimeout: "ping",
			Events: []journey.EventBranch{{Event: "clicked"}}},
	}}
	h := newHarness(t)
	h.env.ExecuteWorkflow(workflows.Journey, workflows.JourneyInput{CustomerID: "c-1", Journey: def})
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(h.env.GetWorkflowError(), &can))
	var next workflows.JourneyInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	assert.Equal(t, 500, next.Resume.StepsTotal)
	assert.Equal(t, 250, next.Resume.Visits["ping"])
	assert.Len(t, next.Resume.Steps, workflows.MaxSummarySteps, "the carried summary is bounded")
	assert.Equal(t, "ping#250", h.deliveries[len(h.deliveries)-1].StepKey)
}
