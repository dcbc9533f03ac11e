package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/testenv"
)

type harness struct {
	t    *testing.T
	pool *pgxpool.Pool
	acts *activities.Activities
	env  *testsuite.TestActivityEnvironment
}

func newHarness(t *testing.T) *harness {
	pool := testenv.Postgres(t)
	c := customer.Customer{ID: "c-1", Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+447700900001",
		TimeZone: "Europe/London", Consents: map[channel.Name]bool{channel.Email: true, channel.SMS: true, channel.Voice: true}}
	c.Normalize()
	require.NoError(t, customer.Upsert(context.Background(), pool, c))
	acts := &activities.Activities{DB: pool, Senders: sandbox.Senders(pool)}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return &harness{t: t, pool: pool, acts: acts, env: env}
}

func (h *harness) deliver(step string, ch channel.Name, intent channel.Intent) (activities.DeliverResult, error) {
	v, err := h.env.ExecuteActivity(h.acts.Deliver, activities.DeliverInput{
		Planned: ledger.Planned{
			Key:     ledger.Key{WorkflowID: "journey:later:c-1", EntryID: "run-1", StepKey: step + "#1"},
			Journey: "later", JourneyVersion: 1, CustomerID: "c-1", StepID: step, Channel: ch, Intent: intent,
		},
		Template: journey.Template{Body: "Hello {{.FirstName}}, your appointment is tomorrow at 10."},
	})
	if err != nil {
		return activities.DeliverResult{}, err
	}
	var res activities.DeliverResult
	require.NoError(h.t, v.Get(&res))
	return res, nil
}

// completedTask opens, claims and completes a task as an agent would.
func (h *harness) completedTask(o calltask.Outcome) calltask.Task {
	ctx := context.Background()
	task, err := calltask.Open(ctx, h.pool, calltask.NewTask{
		WorkflowID: "calltask:journey:wellness:c-1:check-in-call#1", JourneyWorkflowID: "journey:wellness:c-1",
		EntryID: "run-1", StepKey: "check-in-call#1", CustomerID: "c-1", Journey: "wellness", JourneyVersion: 1,
		StepID: "check-in-call", Reason: "check-in", DueAt: time.Now().Add(time.Hour),
	})
	require.NoError(h.t, err)
	_, err = calltask.Claim(ctx, h.pool, task.ID, "alice", time.Minute)
	require.NoError(h.t, err)
	task, err = calltask.Complete(ctx, h.pool, task.ID, "alice", o, "")
	require.NoError(h.t, err)
	return task
}

func (h *harness) apply(id int64, o calltask.Outcome) (int64, error) {
	v, err := h.env.ExecuteActivity(h.acts.ApplyCallOutcome, activities.ApplyCallOutcomeInput{
		TaskID: id, Outcome: o, Intent: channel.Caring})
	if err != nil {
		return 0, err
	}
	var touch int64
	require.NoError(h.t, v.Get(&touch))
	return touch, nil
}

func TestDeliverRefusesACaringVoiceMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, err := h.deliver("robo-care", channel.Voice, channel.Caring)
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	assert.Equal(t, activities.ErrTypeHumanOnly, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	recs, err := sandbox.ForCustomer(context.Background(), h.pool, "c-1")
	require.NoError(t, err)
	assert.Empty(t, recs, "no text-to-speech was produced")
}

func TestAskedNotToBeCalledWithdrawsVoiceConsentAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	task := h.completedTask(calltask.DoNotCall)
	touch, err := h.apply(task.ID, calltask.DoNotCall)
	require.NoError(t, err)
	again, err := h.apply(task.ID, calltask.DoNotCall)
	require.NoError(t, err)
	assert.Equal(t, touch, again, "applying twice records one call")

	var granted bool
	var source string
	require.NoError(t, h.pool.QueryRow(ctx, `select granted, source from consents where customer_id = 'c-1' and channel = 'voice'`).
		Scan(&granted, &source))
	assert.False(t, granted)
	assert.Equal(t, "call_desk", source)

	touches, err := ledger.ForCustomer(ctx, h.pool, "c-1")
	require.NoError(t, err)
	require.Len(t, touches, 1)
	assert.Equal(t, channel.Voice, touches[0].Channel, "the call counts against the customer's caps")
	assert.Equal(t, ledger.Sent, touches[0].Status)
	assert.Equal(t, "call.do_not_call", touches[0].Reason)

	res, err := h.deliver("reminder-call", channel.Voice, channel.Transactional)
	require.NoError(t, err)
	assert.Equal(t, ledger.Blocked, res.Status, "a later voice touch is blocked")
	assert.Equal(t, "consent.voice", res.Reason)
	res, err = h.deliver("reminder-sms", channel.SMS, channel.Transactional)
	require.NoError(t, err)
	assert.Equal(t, ledger.Sent, res.Status, "other channels are untouched")

	// A later caring call is not even put on the desk.
	v, err := h.env.ExecuteActivity(h.acts.OpenCallTask, activities.OpenCallTaskInput{Intent: channel.Caring,
		NewTask: calltask.NewTask{
			WorkflowID: "calltask:journey:later:c-1:care#1", JourneyWorkflowID: "journey:later:c-1", EntryID: "run-1",
			StepKey: "care#1", CustomerID: "c-1", Journey: "later", JourneyVersion: 1, StepID: "care",
			Reason: "check-in", DueAt: time.Now().Add(time.Hour),
		}})
	require.NoError(t, err)
	var opened activities.OpenCallTaskResult
	require.NoError(t, v.Get(&opened))
	assert.Equal(t, "consent.voice", opened.Blocked)
	assert.Zero(t, opened.TaskID)
	_, err = calltask.Find(ctx, h.pool, "journey:later:c-1", "run-1", "care#1")
	require.ErrorIs(t, err, calltask.ErrNotFound)
	touches, err = ledger.ForWorkflow(ctx, h.pool, "journey:later:c-1")
	require.NoError(t, err)
	require.Len(t, touches, 3)
	assert.Equal(t, ledger.Blocked, touches[2].Status)
	assert.Equal(t, "consent.voice", touches[2].Reason)
}

func TestWrongNumberStopsCallsAndTextsUntilTheNumberChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	task := h.completedTask(calltask.WrongNumber)
	_, err := h.apply(task.ID, calltask.WrongNumber)
	require.NoError(t, err)
	res, err := h.deliver("reminder-sms", channel.SMS, channel.Transactional)
	require.NoError(t, err)
	assert.Equal(t, ledger.Blocked, res.Status)
	assert.Equal(t, "address.sms.missing", res.Reason)

	c, err := customer.Get(ctx, h.pool, "c-1")
	require.NoError(t, err)
	require.True(t, c.PhoneInvalid)
	require.NoError(t, customer.Upsert(ctx, h.pool, c))
	c, err = customer.Get(ctx, h.pool, "c-1")
	require.NoError(t, err)
	assert.True(t, c.PhoneInvalid, "re-importing the same number keeps the flag")
	c.Phone = "+447700900002"
	require.NoError(t, customer.Upsert(ctx, h.pool, c))
	c, err = customer.Get(ctx, h.pool, "c-1")
	require.NoError(t, err)
	assert.False(t, c.PhoneInvalid, "a corrected number clears it")
}

func TestApplyRefusesAnOutcomeThatIsNotInPostgres(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	task := h.completedTask(calltask.Reached)
	_, err := h.apply(task.ID, calltask.DoNotCall)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	assert.Equal(t, activities.ErrTypeCallTask, appErr.Type())
	var granted bool
	require.NoError(t, h.pool.QueryRow(context.Background(),
		`select granted from consents where customer_id = 'c-1' and channel = 'voice'`).Scan(&granted))
	assert.True(t, granted, "nothing was withdrawn on a mismatched outcome")
}
