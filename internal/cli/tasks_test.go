package cli

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/workerapp"
	"github.com/outreach-engine/outreach/workflows"
)

// TestTasksCommandsWorkACallTaskEndToEnd starts the wellness journey with
// the starter, then works its call task from the command line: list, claim,
// and complete with "asked not to be called". The customer's voice consent
// is withdrawn before the command returns and the journey moves on.
func TestTasksCommandsWorkACallTaskEndToEnd(t *testing.T) {
	pool, url := testenv.PostgresURL(t)
	tc := testenv.Temporal(t)
	ctx := context.Background()
	c := customer.Customer{ID: "c-1", Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+447700900001",
		TimeZone: "Europe/London", Consents: map[channel.Name]bool{channel.Email: true, channel.Voice: true}}
	c.Normalize()
	require.NoError(t, customer.Upsert(ctx, pool, c))
	ws := workerapp.New(tc, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool)}, time.Second)
	require.NoError(t, ws.Start())
	var once sync.Once
	t.Cleanup(func() { once.Do(ws.Stop) })

	app, out, _ := newApp(t, url)
	app.temporal = tc
	require.NoError(t, Run(ctx, app, []string{"start", "--journey", "wellness", "--customer", "c-1", "--max-wait", "1m"}))

	var list string
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		out.Reset()
		require.NoError(ct, Run(ctx, app, []string{"tasks", "list"}))
		list = out.String()
		assert.Contains(ct, list, "wellness/check-in-call")
	}, 30*time.Second, 100*time.Millisecond)
	assert.NotContains(t, list, "Ada", "scripts see customer ids, not names")
	m := regexp.MustCompile(`(?m)^(\d+)\s+\S+\s+open\s+-\s+-\s+c-1\s`).FindStringSubmatch(list)
	require.NotNil(t, m, "list shows the open task:\n%s", list)
	id := m[1]

	out.Reset()
	require.NoError(t, Run(ctx, app, []string{"tasks", "claim", "--id", id, "--agent", "alice"}))
	assert.Contains(t, out.String(), "task "+id+" claimed by alice until ")
	err := Run(ctx, app, []string{"tasks", "claim", "--id", id, "--agent", "bob"})
	require.ErrorIs(t, err, calltask.ErrTaken, "bob cannot take alice's task")

	out.Reset()
	require.NoError(t, Run(ctx, app, []string{"tasks", "complete", "--id", id, "--agent", "alice",
		"--outcome", "do_not_call", "--notes", "Please use email only."}))
	assert.Regexp(t, `^task `+id+` completed: do_not_call \(ledger touch \d+\)`, out.String())

	got, err := customer.Get(ctx, pool, "c-1")
	require.NoError(t, err)
	assert.False(t, got.Consents[channel.Voice], "voice consent is withdrawn when the command returns")

	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		v, err := tc.QueryWorkflow(ctx, workflows.WorkflowID("wellness", "c-1"), "", workflows.QueryState)
		require.NoError(ct, err)
		var st workflows.JourneyState
		require.NoError(ct, v.Get(&st))
		require.NotEmpty(ct, st.Steps)
		assert.Equal(ct, "call.do_not_call", st.Steps[0].Reason)
		assert.Equal(ct, "pause", st.CurrentStep, "the journey moved on")
	}, 30*time.Second, 100*time.Millisecond)

	out.Reset()
	require.NoError(t, Run(ctx, app, []string{"tasks", "list", "--status", "all"}))
	assert.Regexp(t, `(?m)^`+id+`\s+\S+\s+completed\s+alice\s+do_not_call\s+c-1\s`, out.String())
	assert.NotContains(t, out.String(), "email only", "notes stay out of listings")
}

func TestTasksUsageErrors(t *testing.T) {
	app, _, _ := newApp(t, "postgres://unused")
	ctx := context.Background()
	for _, args := range [][]string{
		{"tasks"},
		{"tasks", "frob"},
		{"tasks", "claim", "--agent", "alice"},
		{"tasks", "complete", "--id", "1", "--agent", "alice", "--outcome", "maybe"},
		{"tasks", "list", "--status", "pending"},
	} {
		err := Run(ctx, app, args)
		assert.ErrorIs(t, err, ErrUsage, strings.Join(args, " "))
	}
}
