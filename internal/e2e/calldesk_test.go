package e2e

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"golang.org/x/crypto/bcrypt"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/web/calldesk"
	"github.com/outreach-engine/outreach/workflows"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium for the test, or skips when it is not
// installed (fails instead under OUTREACH_REQUIRE_INTEGRATION=1).
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("OUTREACH_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("Chromium not found at %s: apt-get install chromium", chromiumPath)
		}
		t.Skipf("Chromium not found at %s: apt-get install chromium (set OUTREACH_REQUIRE_INTEGRATION=1 to make this a failure)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1366, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first run starts the browser, which lives as long as ctx: no
	// timeout on this one; each later step gets its own.
	require.NoError(t, chromedp.Do(ctx), "start Chromium")
	return ctx
}

// page drives the browser one step at a time, each with a time limit.
type page struct {
	t   *testing.T
	ctx context.Context
}

func (p page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, steps...))
}

func (p page) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(p.t, err)
	return v
}

func (p page) location() string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Location())
	require.NoError(p.t, err)
	return v
}

// screenshot saves a full-page PNG as dir/name when OUTREACH_SCREENSHOTS
// names a directory (relative to the module root), so ordinary test runs
// leave the tree alone.
func screenshot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		dir := os.Getenv("OUTREACH_SCREENSHOTS")
		if dir == "" {
			return nil
		}
		png, err := chromedp.FullScreenshot(100)(ctx, target)
		if err != nil {
			return err
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join("..", "..", dir)
		}
		return os.WriteFile(filepath.Join(dir, name), png, 0o644)
	})
}

// TestCaringCallWorkedAtTheDeskEndToEnd runs the wellness journey on a real
// dev server: its caring voice step opens a call task instead of a robo-call;
// an agent signs in to the real desk in a browser, claims the task and
// records "reached"; the journey goes on down the reached branch.
func TestCaringCallWorkedAtTheDeskEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	pool := testenv.Postgres(t)
	c := testenv.Temporal(t)
	bg := context.Background()
	seedCustomer(t, pool, "c-care", allConsents())
	grace := customer.Customer{ID: "c-later", Name: "Grace Hopper", Phone: "+12025550101",
		TimeZone: "America/New_York", Consents: allConsents()}
	grace.Normalize()
	require.NoError(t, customer.Upsert(bg, pool, grace))
	startWorkers(t, c, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool)})

	// An earlier touch the agent should see on the task page.
	welcome := journey.Welcome(time.Millisecond, time.Millisecond)
	wrun, err := c.ExecuteWorkflow(bg, client.StartWorkflowOptions{
		ID: workflows.WorkflowID(welcome.Name, "c-care"), TaskQueue: workflows.TaskQueue,
	}, workflows.Journey, workflows.JourneyInput{CustomerID: "c-care", Journey: welcome})
	require.NoError(t, err)
	require.NoError(t, wrun.Get(bg, nil))

	def := journey.WellnessCheckIn(200*time.Millisecond, 10*time.Minute)
	id := workflows.WorkflowID(def.Name, "c-care")
	run, err := c.ExecuteWorkflow(bg, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.Journey, workflows.JourneyInput{CustomerID: "c-care", Journey: def})
	require.NoError(t, err)
	// A second task, due later, so the queue shows its order.
	later := journey.WellnessCheckIn(time.Millisecond, 20*time.Minute)
	_, err = c.ExecuteWorkflow(bg, client.StartWorkflowOptions{ID: workflows.WorkflowID(later.Name, "c-later"), TaskQueue: workflows.TaskQueue},
		workflows.Journey, workflows.JourneyInput{CustomerID: "c-later", Journey: later})
	require.NoError(t, err)

	var task calltask.Task
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		tasks, err := calltask.List(bg, pool, calltask.StatusOpen)
		require.NoError(ct, err)
		require.Len(ct, tasks, 2)
		task = tasks[0]
	}, 30*time.Second, 50*time.Millisecond)
	assert.Equal(t, "c-care", task.CustomerID, "the queue is sorted by due time")
	assert.Equal(t, workflows.CallTaskWorkflowID(id, "check-in-call#1"), task.WorkflowID)
	recs, err := sandbox.ForCustomer(bg, pool, "c-care")
	require.NoError(t, err)
	for _, r := range recs {
		assert.NotEqual(t, string(channel.Voice), r.Channel, "no automated voice call was placed")
	}

	pw, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	require.NoError(t, err)
	desk, err := calldesk.New(calldesk.Options{
		DB: pool, Temporal: c, Agents: map[string][]byte{"alice": pw},
		Secret: []byte("an-end-to-end-test-secret-of-32-bytes+"),
	})
	require.NoError(t, err)
	srv := httptest.NewServer(desk)
	t.Cleanup(srv.Close)

	taskLink := chromedp.CSS(`a[href="/tasks/` + strconv.FormatInt(task.ID, 10) + `"]`)
	p := page{t: t, ctx: ctx}
	p.do(chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("agent")))
	url := p.location()
	p.do(
		chromedp.SendKeys(chromedp.ID("agent"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
		chromedp.WaitVisible(taskLink),
	)
	queueText := p.text("main")
	p.do(
		screenshot("calldesk-queue.png"),
		chromedp.Click(taskLink),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/claim"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/claim"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`input[value="reached"]`)),
	)
	taskText := p.text("main")
	p.do(
		screenshot("calldesk-task.png"),
		chromedp.Click(chromedp.CSS(`input[value="reached"]`)),
		chromedp.SendKeys(chromedp.ID("notes"), "Doing well; enjoys the weekly classes."),
		chromedp.Click(chromedp.CSS(`form[action$="/complete"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	notice := p.text(".notice")
	assert.Equal(t, srv.URL+"/login", url, "signing in comes first")
	assert.Contains(t, queueText, "Ada Lovelace")
	assert.Contains(t, queueText, "Europe/London")
	assert.Contains(t, queueText, "America/New_York", "each customer's own local time")
	assert.Contains(t, taskText, "Wellness check-in a month after joining")
	assert.Contains(t, taskText, "Ask Ada how the first month went")
	assert.Contains(t, taskText, "welcome · welcome-email", "the last touches come from the ledger")
	assert.Contains(t, taskText, "+447700900001")
	assert.Contains(t, notice, "Task "+strconv.FormatInt(task.ID, 10)+" recorded")

	var res workflows.JourneyResult
	require.NoError(t, run.Get(bg, &res))
	require.Len(t, res.Steps, 3, "reached: no fallback email")
	assert.Equal(t, "call.reached", res.Steps[0].Reason)
	assert.Equal(t, ledger.Sent, res.Steps[0].Status)
	assert.Equal(t, ledger.Sent, res.Steps[2].Status, "the journey went on to the resources email")

	done, err := calltask.Get(bg, pool, task.ID)
	require.NoError(t, err)
	assert.Equal(t, calltask.StatusCompleted, done.Status)
	assert.Equal(t, "alice", done.CompletedBy)
	assert.Equal(t, "Doing well; enjoys the weekly classes.", done.Notes)

	touches, err := ledger.ForWorkflow(bg, pool, id)
	require.NoError(t, err)
	require.Len(t, touches, 2)
	assert.Equal(t, channel.Voice, touches[0].Channel, "the call counts as a touch")
	assert.Equal(t, "call.reached", touches[0].Reason)
	assert.Equal(t, res.Steps[0].TouchID, touches[0].ID)
	assert.Equal(t, channel.Email, touches[1].Channel)
}
