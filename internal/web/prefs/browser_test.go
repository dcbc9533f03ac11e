package prefs_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/config"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/prefs"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/workerapp"
	"github.com/outreach-engine/outreach/workflows"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium with a phone-sized window, or skips the
// test when it is not installed (fails under OUTREACH_REQUIRE_INTEGRATION=1).
func browser(t *testing.T) context.Context {
	t.Helper()
	testenv.Integration(t)
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("OUTREACH_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("chromium not found at %s: apt-get install chromium", chromiumPath)
		}
		t.Skipf("chromium not found at %s (apt-get install chromium)", chromiumPath)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(412, 915),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")), "start chromium")
	return ctx
}

// screenshot saves the page as <dir>/prefs-<name>.png under the repository
// root when OUTREACH_SCREENSHOTS names a directory (e.g. docs).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("OUTREACH_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	root, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		require.NotEqual(t, root, filepath.Dir(root), "go.mod not found")
		root = filepath.Dir(root)
	}
	require.NoError(t, os.MkdirAll(filepath.Join(root, dir), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, dir, "prefs-"+name+".png"), png, 0o644))
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	require.NoError(t, err, "read %s", css)
	return s
}

var prefsLink = regexp.MustCompile(`Choose what you hear from [^:]+: (\S+)`)

// gardenClub welcomes a customer by email, waits, then sends two offers and
// a receipt. The wait is the window in which the customer changes their mind.
func gardenClub(wait time.Duration) journey.Definition {
	return journey.Definition{
		Name: "garden-club", Version: 1,
		Steps: []journey.Step{
			{ID: "hello", Kind: journey.StepSend, Channel: channel.Email, Intent: channel.Transactional, Template: "hello"},
			{ID: "pause", Kind: journey.StepWait, Wait: wait},
			{ID: "seed-offer-email", Kind: journey.StepSend, Channel: channel.Email, Intent: channel.Promotional, Template: "offer"},
			{ID: "seed-offer-sms", Kind: journey.StepSend, Channel: channel.SMS, Intent: channel.Promotional, Template: "offer"},
			{ID: "receipt", Kind: journey.StepSend, Channel: channel.Email, Intent: channel.Transactional, Template: "receipt"},
		},
		Templates: map[string]journey.Template{
			"hello":   {Subject: "Welcome to the garden club, {{.FirstName}}", Body: "Hi {{.FirstName}},\n\nyour membership is active.\n"},
			"offer":   {Subject: "Seeds for spring", Body: "Hi {{.FirstName}}, 20% off seeds this week."},
			"receipt": {Subject: "Your receipt", Body: "Hi {{.FirstName}}, here is your receipt for order 1001.\n"},
		},
	}
}

func stepReason(res workflows.JourneyResult, step string) (ledger.Status, string) {
	for _, s := range res.Steps {
		if s.StepID == step {
			return s.Status, s.Reason
		}
	}
	return "", "missing"
}

// TestBrowserPreferenceCenterChangesARunningJourney is the customer's path:
// a real journey on a dev server sends an email with a signed link; the
// customer opens it in Chromium, switches text messages off, chooses "only
// what I ask for", picks interests and a quiet time, and saves. The journey's
// next offers are then held back by those choices while the receipt still
// goes out. Then the customer reads "why did I get this?", "what we know",
// the unsubscribe page, and finally erases their data, which cancels the
// journey they are still in and leaves nothing personal in any table.
func TestBrowserPreferenceCenterChangesARunningJourney(t *testing.T) {
	pool := testenv.Postgres(t)
	tc := testenv.Temporal(t)
	ctx := context.Background()
	bctx := browser(t)
	seedCustomer(t, pool, "c-web")

	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	web, err := workerapp.NewWeb(config.Web{
		PublicURL: srv.URL, LinkSecret: secret, LinkTTL: time.Hour,
		BrandName: "Acme Garden Supplies", BrandSender: "Ada at Acme <hello@acme.example>",
		PrivacyPromise: "We use what you tell us only to choose what we send you. We never sell it, and you can erase it here at any time.",
	}, pool, tc, nil)
	require.NoError(t, err)
	require.NotNil(t, web.Footer)
	srv.Config.Handler = web.Mux
	ws := workerapp.New(tc, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool), Links: web.Footer}, time.Second)
	require.NoError(t, ws.Start())
	t.Cleanup(ws.Stop)

	def := gardenClub(20 * time.Second)
	wfID := workflows.WorkflowID(def.Name, "c-web")
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: workflows.TaskQueue},
		workflows.Journey, workflows.JourneyInput{CustomerID: "c-web", Journey: def})
	require.NoError(t, err)

	// The welcome email lands in the sandbox outbox with the signed link.
	var link string
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		recs, err := sandbox.ForCustomer(ctx, pool, "c-web")
		require.NoError(ct, err)
		require.Len(ct, recs, 1)
		m := prefsLink.FindStringSubmatch(recs[0].Body)
		require.NotNil(ct, m, "no preference link in:\n%s", recs[0].Body)
		link = m[1]
	}, 20*time.Second, 100*time.Millisecond)
	require.True(t, strings.HasPrefix(link, srv.URL+"/p/"))

	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("form button[type=submit]"))))
	assert.Contains(t, text(t, bctx, "h1"), "Your choices, Rosalind")
	screenshot(t, bctx, "center")
	require.NoError(t, chromedp.Do(bctx,
		// Keyboard: focus a control and press space, as a keyboard user would.
		chromedp.Focus(chromedp.CSS(`input[name=channel_sms]`)),
		chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS(`input[name=frequency][value=on_request]`)),
		chromedp.KeyEvent(" "),
		chromedp.Click(chromedp.CSS(`input[name=interest][value=gardening]`)),
		chromedp.Click(chromedp.CSS(`input[name=interest][value=tennis]`)),
		chromedp.Click(chromedp.CSS(`input[name=interest][value=books]`)),
		chromedp.SetValue(chromedp.ID("quiet_start"), "21:00"),
		chromedp.SetValue(chromedp.ID("quiet_end"), "08:00"),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	))
	assert.Contains(t, text(t, bctx, ".notice"), "Saved.")
	screenshot(t, bctx, "saved")

	// The choices are in Postgres, recorded with their source, and the
	// journey has not reached its offers yet.
	touches, err := ledger.ForWorkflow(ctx, pool, wfID)
	require.NoError(t, err)
	require.Len(t, touches, 1, "the journey reached its offers before the choices were saved: the test's wait is too short for this machine")
	p, err := prefs.Load(ctx, pool, "c-web")
	require.NoError(t, err)
	assert.Equal(t, prefs.OnRequest, p.Frequency)
	assert.False(t, p.Consents[channel.SMS])
	assert.True(t, p.Consents[channel.Email])
	assert.Equal(t, []string{"books", "tennis"}, p.Interests)
	assert.Equal(t, prefs.Quiet{Start: "21:00", End: "08:00"}, p.Quiet)
	var audited int
	require.NoError(t, pool.QueryRow(ctx, `select count(*) from preference_changes where customer_id = 'c-web' and source = 'preference_center'`).Scan(&audited))
	assert.Equal(t, 4, audited, "sms consent, frequency, quiet time and interests, each recorded")

	// The running journey obeys at its next touches.
	var res workflows.JourneyResult
	require.NoError(t, run.Get(ctx, &res))
	status, reason := stepReason(res, "seed-offer-email")
	assert.Equal(t, []string{"blocked", "preference.frequency"}, []string{string(status), reason})
	status, reason = stepReason(res, "seed-offer-sms")
	assert.Equal(t, []string{"blocked", "consent.sms"}, []string{string(status), reason})
	status, _ = stepReason(res, "receipt")
	assert.Equal(t, ledger.Sent, status, "transactional email still flows")

	// "Why did I get this?" for the welcome email, from the ledger's record.
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(link+"/why"), chromedp.WaitVisible(chromedp.CSS("table"))))
	why := text(t, bctx, "main")
	assert.Contains(t, why, "“garden-club” series")
	assert.Contains(t, why, "about your account or something you did")
	screenshot(t, bctx, "why")

	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(link+"/data"), chromedp.WaitVisible(chromedp.CSS("dl.facts"))))
	data := text(t, bctx, "main")
	assert.Contains(t, data, "rosalind@example.org")
	assert.Contains(t, data, "We never sell it")
	assert.Contains(t, data, "Only what I ask for")
	screenshot(t, bctx, "data")

	unsub := strings.Replace(link, "/p/", "/u/", 1)
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(unsub), chromedp.WaitVisible(chromedp.CSS("form button"))))
	screenshot(t, bctx, "unsubscribe")
	require.NoError(t, chromedp.Do(bctx, chromedp.Click(chromedp.CSS("form button")), chromedp.WaitVisible(chromedp.CSS(".notice"))))
	assert.Contains(t, text(t, bctx, "h1"), "You are unsubscribed")
	screenshot(t, bctx, "unsubscribed")

	tampered := link[:len(link)-3] + map[bool]string{true: "AAA", false: "BBB"}[!strings.HasSuffix(link, "AAA")]
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(tampered), chromedp.WaitVisible(chromedp.CSS("h1"))))
	assert.Contains(t, text(t, bctx, "main"), "Nothing was changed")
	screenshot(t, bctx, "error")

	// A journey still running when the customer asks for erasure is cancelled.
	later := journey.Definition{Name: "seasonal", Version: 1, Steps: []journey.Step{
		{ID: "note", Kind: journey.StepSend, Channel: channel.Email, Intent: channel.Transactional, Template: "hello"},
		{ID: "pause", Kind: journey.StepWait, Wait: time.Hour},
		{ID: "offer", Kind: journey.StepSend, Channel: channel.Email, Intent: channel.Promotional, Template: "offer"},
	}, Templates: def.Templates}
	run2, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(later.Name, "c-web"), TaskQueue: workflows.TaskQueue},
		workflows.Journey, workflows.JourneyInput{CustomerID: "c-web", Journey: later})
	require.NoError(t, err)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		ts, err := ledger.ForWorkflow(ctx, pool, run2.GetID())
		require.NoError(ct, err)
		require.Len(ct, ts, 1)
		assert.Equal(ct, ledger.Sent, ts[0].Status)
	}, 20*time.Second, 100*time.Millisecond)

	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(link+"/data"), chromedp.WaitVisible(chromedp.CSS("button.danger")),
		chromedp.Click(chromedp.CSS(`input[name=confirm]`)),
	))
	// RunResponse waits for the page the form posts to, not the one it is on.
	resp, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS("button.danger")))
	require.NoError(t, err)
	assert.EqualValues(t, 200, resp.Status)
	assert.Contains(t, text(t, bctx, "h1"), "Your data was erased")
	screenshot(t, bctx, "erased")

	err = run2.Get(ctx, nil)
	var canceled *temporal.CanceledError
	assert.True(t, errors.As(err, &canceled), "the running journey was cancelled, got %v", err)
	pii := []string{"Rosalind", "Franklin", "rosalind@example.org", "+447700900123", "7700900123", "Kensington"}
	assert.Empty(t, testenv.FindText(t, pool, pii...), "no personal data left in any table")
	counts, err := ledger.CountByStatus(ctx, pool, "garden-club")
	require.NoError(t, err)
	assert.Equal(t, 2, counts[ledger.Sent], "the anonymous ledger still counts")
}
