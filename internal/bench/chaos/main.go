// Command chaos runs a few hundred journeys on mixed channels through the
// real worker binary in live delivery mode, against local fakes of the
// providers' APIs, while killing the worker with SIGKILL at random moments
// and restarting it. At the end it audits what the providers received
// against what the ledger says:
//
//   - every journey completed;
//   - every touch the ledger marks sent reached its provider exactly once
//     (duplicates: a touch the providers accepted more than once, or accepted
//     although the ledger says it was never sent; lost: a sent touch no
//     provider has, or a journey that did not complete);
//   - no cap of the throttle policy was exceeded and no text went out in
//     the customer's quiet hours (the ledger's sent touches re-checked with
//     the same policy).
//
// It prints one final line and exits non-zero unless duplicates, lost and
// cap violations are all 0:
//
//	chaos: journeys=<N> kills=<K> sent=<S> duplicates=<D> lost=<L> cap_violations=<V>
//
// Email goes out with the caring intent: SendGrid has no idempotency key, so
// an ambiguous caring email is failed rather than resent (at most once, see
// docs/providers.md); texts are reconciled through Twilio's message list and
// mail is replayed with its idempotency key, both exactly once.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/sync/errgroup"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/bench/benchenv"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/providertest"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/throttle"
	"github.com/outreach-engine/outreach/internal/visibility"
	"github.com/outreach-engine/outreach/workflows"
)

type config struct {
	journeys, kills  int
	minKill, maxKill time.Duration
	timeout          time.Duration
	cli, pgURL, bin  string
	latency          time.Duration
	keepLogs         bool
}

func main() {
	var cfg config
	flag.IntVar(&cfg.journeys, "journeys", 240, "journeys to run (one customer each)")
	flag.IntVar(&cfg.kills, "kills", 6, "times the worker is killed with SIGKILL")
	flag.DurationVar(&cfg.minKill, "min-interval", 2*time.Second, "shortest time between kills")
	flag.DurationVar(&cfg.maxKill, "max-interval", 4*time.Second, "longest time between kills")
	flag.DurationVar(&cfg.timeout, "timeout", 150*time.Second, "how long the journeys may take after the last kill")
	flag.StringVar(&cfg.cli, "temporal-cli", envOr("OUTREACH_TEMPORAL_CLI", ".tools/bin/temporal"), "pinned Temporal CLI binary")
	flag.StringVar(&cfg.pgURL, "pg", envOr("OUTREACH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "Postgres admin URL")
	flag.StringVar(&cfg.bin, "worker-bin", "bin/worker", "the worker binary (go build -o bin/ ./worker)")
	flag.DurationVar(&cfg.latency, "latency", 300*time.Millisecond, "longest delay the providers' answers take (random, after the provider accepted)")
	flag.BoolVar(&cfg.keepLogs, "worker-logs", false, "pass the worker's logs through to stderr")
	flag.Parse()
	if cfg.journeys < 1 || cfg.kills < 0 || cfg.minKill <= 0 || cfg.maxKill < cfg.minKill {
		fmt.Fprintln(os.Stderr, "chaos: -journeys must be positive, -kills not negative, 0 < -min-interval <= -max-interval")
		os.Exit(2)
	}
	rep, err := run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	fmt.Printf("chaos: journeys=%d kills=%d sent=%d duplicates=%d lost=%d cap_violations=%d\n",
		rep.journeys, rep.kills, rep.sent, rep.duplicates, rep.lost, rep.capViolations)
	if rep.duplicates != 0 || rep.lost != 0 || rep.capViolations != 0 {
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// policyYAML is the throttle policy of the run: caps that bite within one
// journey, quiet hours for texts, and short waits so that a deferred touch
// expires in seconds instead of keeping the run going until morning.
const policyYAML = `
default_time_zone: UTC
min_gap: 1s
caps:
  - {id: all_7d, max: 2, window: 7d}
  - {id: sms_7d, max: 1, window: 7d, channels: [sms]}
quiet_hours:
  sms: {start: "21:00", end: "08:00"}
intents:
  transactional:
    exempt: [cap.all_7d, min_gap]
    max_defer: 3s
  caring:
    max_defer: 3s
  promotional:
    max_defer: 3s
`

// chaosJourney texts, emails, mails and texts again. For a customer outside
// quiet hours the first text, the email and the letter go out; the second
// text meets the caps (sms_7d, all_7d). In quiet hours both texts expire.
func chaosJourney() journey.Definition {
	return journey.Definition{Name: "chaos", Version: 1,
		Templates: map[string]journey.Template{
			"text":   {Body: "Hi {{.FirstName}}, your order for {{.CustomerID}} is on its way."},
			"email":  {Subject: "How is it going, {{.FirstName}}?", Body: "Hi {{.FirstName}}, we hope all is well ({{.CustomerID}})."},
			"letter": {Subject: "Your account", Body: "Dear {{.FirstName}}, here is your statement for {{.CustomerID}}."},
			"again":  {Body: "Hi {{.FirstName}}, just checking in again ({{.CustomerID}})."},
		},
		Steps: []journey.Step{
			{ID: "text", Kind: journey.StepSend, Channel: channel.SMS, Intent: channel.Caring, Template: "text"},
			{ID: "pause-1", Kind: journey.StepWait, Wait: 2 * time.Second},
			{ID: "email", Kind: journey.StepSend, Channel: channel.Email, Intent: channel.Caring, Template: "email"},
			{ID: "pause-2", Kind: journey.StepWait, Wait: 2 * time.Second},
			{ID: "letter", Kind: journey.StepSend, Channel: channel.Mail, Intent: channel.Transactional, Template: "letter"},
			{ID: "pause-3", Kind: journey.StepWait, Wait: 1 * time.Second},
			{ID: "again", Kind: journey.StepSend, Channel: channel.SMS, Intent: channel.Caring, Template: "again"},
		}}
}

// zones span the clock, so that at any moment some customers are in their
// quiet hours and some are not.
var zones = []string{"Pacific/Honolulu", "America/Los_Angeles", "America/Chicago", "America/New_York",
	"America/Sao_Paulo", "UTC", "Europe/Berlin", "Europe/Moscow", "Asia/Kolkata", "Asia/Shanghai",
	"Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland"}

type report struct {
	journeys, kills, sent, duplicates, lost, capViolations int
}

func run(ctx context.Context, cfg config) (report, error) {
	rep := report{journeys: cfg.journeys}
	began := time.Now()
	bin, err := filepath.Abs(cfg.bin)
	if err != nil {
		return rep, err
	}
	if _, err := os.Stat(bin); err != nil {
		return rep, fmt.Errorf("worker binary: %w (run `make build` first)", err)
	}
	policy, err := throttle.Parse([]byte(policyYAML))
	if err != nil {
		return rep, err
	}
	tmp, err := os.MkdirTemp("", "outreach-chaos-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(tmp)
	policyFile := filepath.Join(tmp, "throttle.yaml")
	if err := os.WriteFile(policyFile, []byte(policyYAML), 0o600); err != nil {
		return rep, err
	}

	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: cfg.cli, LogLevel: "error", Stdout: io.Discard, Stderr: io.Discard,
		SearchAttributes: visibility.Attributes(),
		ClientOptions:    &client.Options{Logger: log.NewStructuredLogger(discardLogger())},
	})
	if err != nil {
		return rep, fmt.Errorf("start dev server: %w", err)
	}
	defer func() { _ = srv.Stop() }()
	c := srv.Client()

	scratch, err := benchenv.NewScratch(ctx, cfg.pgURL, "chaos")
	if err != nil {
		return rep, err
	}
	defer scratch.Close()
	pool, dbURL := scratch.Pool, scratch.URL
	quiet, err := loadCustomers(ctx, pool, policy, cfg.journeys, time.Now())
	if err != nil {
		return rep, err
	}

	sendgrid := providertest.NewSendGrid("SG.chaos-key")
	defer sendgrid.Close()
	twilio := providertest.NewTwilio("AC00000000000000000000000000000001", "chaosauthtoken0123456789abcdef00")
	defer twilio.Close()
	postal := providertest.NewPostal("test_chaos_key")
	defer postal.Close()

	// The worker reaches each fake through a proxy that holds the answer
	// back a little, as a real provider's network does: a kill then often
	// lands after the provider accepted a message and before the worker
	// heard so, the ambiguous case exactly-once delivery has to survive.
	sgURL, twURL, poURL := slowly(sendgrid.URL, cfg.latency), slowly(twilio.URL, cfg.latency), slowly(postal.URL, cfg.latency)
	defer sgURL.Close()
	defer twURL.Close()
	defer poURL.Close()
	w := &workerProc{bin: bin, logs: cfg.keepLogs, env: append(os.Environ(),
		"TEMPORAL_ADDRESS="+srv.FrontendHostPort(), "DATABASE_URL="+dbURL, "LOG_LEVEL=warn",
		"OUTREACH_DELIVERY_MODE=live", "OUTREACH_THROTTLE_POLICY="+policyFile,
		"OUTREACH_SHUTDOWN_GRACE=2s", "OUTREACH_OPS_ADDR=127.0.0.1:0",
		"OUTREACH_LINK_SECRET=chaos-link-secret-0123456789abcdef", "OUTREACH_PUBLIC_URL=http://127.0.0.1:9",
		"SENDGRID_API_KEY="+sendgrid.APIKey, "SENDGRID_BASE_URL="+sgURL.URL, "SENDGRID_FROM_EMAIL=hello@example.com",
		"TWILIO_ACCOUNT_SID="+twilio.AccountSID, "TWILIO_AUTH_TOKEN="+twilio.AuthToken, "TWILIO_FROM_NUMBER=+15017122661",
		"TWILIO_BASE_URL="+twURL.URL,
		"POSTAL_API_KEY="+postal.APIKey, "POSTAL_BASE_URL="+poURL.URL, "POSTAL_FROM_ADDRESS_ID=adr_chaos",
	)}
	if err := w.start(); err != nil {
		return rep, err
	}
	defer w.stop()
	fmt.Printf("chaos: %d journeys (%d customers in quiet hours now), %d kills every %s-%s, worker %s\n",
		cfg.journeys, quiet, cfg.kills, cfg.minKill, cfg.maxKill, cfg.bin)

	// Journeys start over the first part of the kill window, so kills land
	// while sends are in flight.
	def := chaosJourney()
	runs := make([]client.WorkflowRun, cfg.journeys)
	starts := make(chan error, 1)
	spread := time.Duration(cfg.kills) * (cfg.minKill + cfg.maxKill) / 4
	go func() {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		batch := max(cfg.journeys/10, 1)
		for i := 0; i < cfg.journeys; i++ {
			if i > 0 && i%batch == 0 {
				time.Sleep(spread / 10)
			}
			g.Go(func() error {
				id := customerID(i)
				r, err := c.ExecuteWorkflow(gctx, client.StartWorkflowOptions{
					ID: workflows.WorkflowID(def.Name, id), TaskQueue: workflows.TaskQueue,
				}, workflows.Journey, workflows.JourneyInput{CustomerID: id, Journey: def})
				runs[i] = r
				return err
			})
		}
		starts <- g.Wait()
	}()

	for k := 0; k < cfg.kills; k++ {
		d := cfg.minKill + rand.N(cfg.maxKill-cfg.minKill+1)
		time.Sleep(d)
		if err := w.kill(); err != nil {
			return rep, err
		}
		rep.kills++
		if err := w.start(); err != nil {
			return rep, err
		}
	}
	if err := <-starts; err != nil {
		return rep, fmt.Errorf("start journeys: %w", err)
	}
	fmt.Printf("chaos: %d kills done after %s; waiting for the journeys\n", rep.kills, time.Since(began).Round(time.Second))

	wctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	var mu sync.Mutex
	var incomplete []string
	g, gctx := errgroup.WithContext(wctx)
	g.SetLimit(32)
	for i, r := range runs {
		g.Go(func() error {
			if err := r.Get(gctx, nil); err != nil {
				mu.Lock()
				incomplete = append(incomplete, fmt.Sprintf("%s: %v", customerID(i), err))
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	w.stop()
	fmt.Printf("chaos: journeys settled after %s\n", time.Since(began).Round(time.Second))

	a, err := audit(ctx, pool, policy, received(sendgrid, twilio, postal))
	if err != nil {
		return rep, err
	}
	for _, l := range a.problems {
		fmt.Fprintln(os.Stderr, "chaos:", l)
	}
	slices.Sort(incomplete)
	for _, l := range incomplete[:min(len(incomplete), 10)] {
		fmt.Fprintln(os.Stderr, "chaos: not completed:", l)
	}
	fmt.Printf("chaos: ledger %s; delivered again after a kill: %d touches; at most once (ambiguous caring email failed, provider has it once): %d\n",
		a.statuses, a.retried, a.atMostOnce)
	rep.sent = a.sent
	rep.duplicates = a.duplicates
	rep.lost = a.lost + len(incomplete)
	rep.capViolations = a.capViolations
	return rep, nil
}

// slowly starts a proxy to target that holds each answer back for a random
// time up to max, after target has answered.
func slowly(target string, max time.Duration) *httptest.Server {
	u, _ := url.Parse(target)
	proxy := httputil.NewSingleHostReverseProxy(u)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		proxy.ServeHTTP(rec, r)
		if max > 0 {
			time.Sleep(rand.N(max))
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
}

// workerProc is the worker binary run as a child process.
type workerProc struct {
	bin  string
	env  []string
	logs bool
	cmd  *exec.Cmd
}

func (w *workerProc) start() error {
	cmd := exec.Command(w.bin)
	cmd.Env = w.env
	if w.logs {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	w.cmd = cmd
	return nil
}

// kill sends SIGKILL: no drain, no deferred cleanup, in-flight requests cut.
func (w *workerProc) kill() error {
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill worker: %w", err)
	}
	_ = w.cmd.Wait()
	if w.cmd.ProcessState != nil && w.cmd.ProcessState.Exited() {
		// It exited on its own before the signal: a crash, not our kill.
		return fmt.Errorf("the worker had exited by itself: %s", w.cmd.ProcessState)
	}
	w.cmd = nil
	return nil
}

func (w *workerProc) stop() {
	if w.cmd == nil {
		return
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	_ = w.cmd.Wait()
	w.cmd = nil
}

// received counts, per touch id, the requests each fake accepted (a replay
// of a postal idempotency key is not a new piece). Requests naming no touch
// are counted under 0.
func received(sg *providertest.SendGrid, tw *providertest.Twilio, po *providertest.Postal) map[int64]int {
	out := map[int64]int{}
	id := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	for _, m := range sg.Mails() {
		args, _ := m["custom_args"].(map[string]any)
		s, _ := args["touch_id"].(string)
		out[id(s)]++
	}
	for _, m := range tw.Messages() {
		u, err := url.Parse(m.StatusCallback)
		if err != nil {
			out[0]++
			continue
		}
		out[id(u.Query().Get("touch"))]++
	}
	for _, p := range po.Pieces() {
		md, _ := p["metadata"].(map[string]any)
		s, _ := md["touch_id"].(string)
		out[id(s)]++
	}
	return out
}

type auditResult struct {
	sent, duplicates, lost, capViolations, atMostOnce int
	// retried counts touches whose Deliver ran more than once (a kill
	// cut an attempt short).
	retried  int
	statuses string
	problems []string
}

type touchRow struct {
	id              int64
	customer, tz    string
	ch              channel.Name
	intent          channel.Intent
	status, reason  string
	attempts        int
	touchAt, sentAt *time.Time
}

// audit compares the ledger with what the providers received, and re-checks
// every sent touch against the throttle policy.
func audit(ctx context.Context, pool *pgxpool.Pool, p *throttle.Policy, got map[int64]int) (auditResult, error) {
	var a auditResult
	rows, err := pool.Query(ctx, `
		select t.id, t.customer_id, c.time_zone, t.channel, t.intent, t.status, t.reason, t.attempts, t.touch_at, t.sent_at
		from touches t join customers c on c.id = t.customer_id
		order by t.customer_id, t.touch_at nulls last, t.id`)
	if err != nil {
		return a, err
	}
	touches, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (touchRow, error) {
		var t touchRow
		err := r.Scan(&t.id, &t.customer, &t.tz, &t.ch, &t.intent, &t.status, &t.reason, &t.attempts, &t.touchAt, &t.sentAt)
		return t, err
	})
	if err != nil {
		return a, err
	}
	known := map[int64]bool{}
	statuses := map[string]int{}
	history := map[string][]throttle.Past{}
	for _, t := range touches {
		known[t.id] = true
		statuses[t.status]++
		if t.attempts > 1 {
			a.retried++
		}
		n := got[t.id]
		switch {
		case t.status == "sent" && n == 0:
			a.lost++
			a.problems = append(a.problems, fmt.Sprintf("touch %d (%s) is sent in the ledger but no provider has it", t.id, t.ch))
		case t.status == "sent" && n > 1:
			a.duplicates += n - 1
			a.problems = append(a.problems, fmt.Sprintf("touch %d (%s) reached its provider %d times", t.id, t.ch, n))
		case t.status == "failed" && t.reason == activities.ReasonAmbiguous && t.ch == channel.Email && n == 1:
			// The documented at-most-once choice for email other than
			// transactional: the attempt was ambiguous, so the touch was
			// failed rather than resent. The provider has it once.
			a.atMostOnce++
		case t.status != "sent" && n > 0:
			a.duplicates += n
			a.problems = append(a.problems, fmt.Sprintf("touch %d (%s) is %s in the ledger but reached its provider %d times", t.id, t.ch, t.status, n))
		}
		if t.status != "sent" {
			continue
		}
		a.sent++
		if t.touchAt == nil {
			a.capViolations++
			a.problems = append(a.problems, fmt.Sprintf("touch %d was sent without a throttle decision", t.id))
			continue
		}
		loc, _ := p.Location(t.tz)
		for _, at := range []time.Time{*t.touchAt, value(t.sentAt, *t.touchAt)} {
			d := p.Decide(history[t.customer], throttle.Request{At: at, Channel: t.ch, Intent: t.intent, Loc: loc})
			if d.Outcome != throttle.Allowed {
				a.capViolations++
				a.problems = append(a.problems, fmt.Sprintf("touch %d (%s, customer %s) breaks %s at %s", t.id, t.ch, t.customer, d.Rule, at.Format(time.RFC3339)))
				break
			}
		}
		history[t.customer] = append(history[t.customer], throttle.Past{At: *t.touchAt, Channel: t.ch, Intent: t.intent})
	}
	for id, n := range got {
		if !known[id] {
			a.duplicates += n
			a.problems = append(a.problems, fmt.Sprintf("%d request(s) for touch %d, which the ledger does not know", n, id))
		}
	}
	keys := make([]string, 0, len(statuses))
	for k := range statuses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, statuses[k]))
	}
	a.statuses = strings.Join(parts, " ")
	return a, nil
}

func value(t *time.Time, def time.Time) time.Time {
	if t == nil {
		return def
	}
	return *t
}

func customerID(i int) string { return fmt.Sprintf("c-%05d", i) }

// loadCustomers COPYs n customers with consent for email, texts and mail,
// valid numbers and addresses, spread over the zones; it returns how many
// are in the quiet hours of texts right now.
func loadCustomers(ctx context.Context, pool *pgxpool.Pool, p *throttle.Policy, n int, now time.Time) (int, error) {
	rows := make([][]any, n)
	var cons [][]any
	quiet := 0
	for i := range rows {
		id := customerID(i)
		tz := zones[i%len(zones)]
		addr := fmt.Sprintf(`{"line1":"%d Main Street","city":"Springfield","region":"IL","postal_code":"62701","country":"US"}`, 100+i)
		rows[i] = []any{id, "Chaos Customer" + strconv.Itoa(i), id + "@example.com", fmt.Sprintf("+1415%07d", 2000000+i), addr, tz}
		for _, ch := range []string{"email", "sms", "mail"} {
			cons = append(cons, []any{id, ch, true})
		}
		loc, _ := p.Location(tz)
		if d := p.Decide(nil, throttle.Request{At: now, Channel: channel.SMS, Intent: channel.Caring, Loc: loc}); d.Outcome != throttle.Allowed {
			quiet++
		}
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"customers"}, []string{"id", "name", "email", "phone", "address", "time_zone"}, pgx.CopyFromRows(rows)); err != nil {
		return 0, fmt.Errorf("copy customers: %w", err)
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"consents"}, []string{"customer_id", "channel", "granted"}, pgx.CopyFromRows(cons)); err != nil {
		return 0, fmt.Errorf("copy consents: %w", err)
	}
	return quiet, nil
}

// discardLogger drops the SDK client's own logs.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
