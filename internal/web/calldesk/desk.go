// Package calldesk is the call desk: the web page where agents see the queue
// of call tasks, claim one, read why and what to say, and record what they
// heard on the phone. Recording an outcome tells the task's CallTask workflow
// through Temporal, and the journey goes on from there.
//
// Agents sign in with a per-agent password (bcrypt hashes from the
// configuration); the session cookie is HMAC-signed, HttpOnly and
// SameSite=Strict, and every form carries a CSRF token bound to the session.
// URLs hold task ids only, and logs name agents and task ids, never customers.
package calldesk

import (
	"context"
	"crypto/hmac"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/workflows"
)

//go:embed templates/*.html
var templateFiles embed.FS

// Options configure a Desk.
type Options struct {
	DB       *pgxpool.Pool
	Temporal client.Client
	// Agents maps agent names to bcrypt password hashes (see ParseAgents).
	Agents map[string][]byte
	// Secret signs session cookies and CSRF tokens; at least 32 bytes.
	Secret []byte
	// Lease is how long a claim lasts before another agent may take the
	// task (default 15 minutes).
	Lease time.Duration
	// SessionTTL is how long a sign-in lasts (default 12 hours).
	SessionTTL time.Duration
	// CallStartHour and CallEndHour bound calls in the customer's local
	// time (default 08:00 to 21:00).
	CallStartHour, CallEndHour int
	Logger                     *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Desk is the call desk's http.Handler.
type Desk struct {
	db         *pgxpool.Pool
	temporal   client.Client
	agents     map[string][]byte
	secret     []byte
	lease      time.Duration
	sessionTTL time.Duration
	startHour  int
	endHour    int
	logger     *slog.Logger
	now        func() time.Time
	tpl        map[string]*template.Template
	mux        *http.ServeMux
}

// New checks the options and builds the desk.
func New(o Options) (*Desk, error) {
	switch {
	case o.DB == nil || o.Temporal == nil:
		return nil, errors.New("call desk: a database pool and a Temporal client are required")
	case len(o.Agents) == 0:
		return nil, errors.New("call desk: no agents configured (OUTREACH_DESK_AGENTS)")
	case len(o.Secret) < 32:
		return nil, errors.New("call desk: OUTREACH_DESK_SECRET must be at least 32 bytes")
	}
	d := &Desk{
		db: o.DB, temporal: o.Temporal, agents: o.Agents, secret: o.Secret,
		lease: o.Lease, sessionTTL: o.SessionTTL, startHour: o.CallStartHour, endHour: o.CallEndHour,
		logger: o.Logger, now: o.Now,
	}
	if d.lease <= 0 {
		d.lease = 15 * time.Minute
	}
	if d.sessionTTL <= 0 {
		d.sessionTTL = 12 * time.Hour
	}
	if d.startHour == 0 && d.endHour == 0 {
		d.startHour, d.endHour = calltask.DefaultCallStartHour, calltask.DefaultCallEndHour
	}
	if d.logger == nil {
		d.logger = slog.Default()
	}
	if d.now == nil {
		d.now = time.Now
	}
	funcs := template.FuncMap{
		"clock":   func(t time.Time) string { return t.Format("Mon 15:04") },
		"stamp":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"label":   func(o calltask.Outcome) string { return o.Label() },
		"lines":   func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") },
		"timePtr": func(t *time.Time) time.Time { return *t },
	}
	d.tpl = map[string]*template.Template{}
	for _, page := range []string{"login", "queue", "task"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("call desk template %s: %w", page, err)
		}
		d.tpl[page] = t
	}
	d.mux = http.NewServeMux()
	d.mux.HandleFunc("GET /login", d.loginForm)
	d.mux.HandleFunc("POST /login", d.login)
	d.mux.HandleFunc("POST /logout", d.signedIn(d.logout))
	d.mux.HandleFunc("GET /{$}", d.signedIn(d.queue))
	d.mux.HandleFunc("GET /tasks/{id}", d.signedIn(d.task))
	d.mux.HandleFunc("POST /tasks/{id}/claim", d.signedIn(d.claim))
	d.mux.HandleFunc("POST /tasks/{id}/complete", d.signedIn(d.complete))
	return d, nil
}

// ServeHTTP serves the desk.
func (d *Desk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	d.mux.ServeHTTP(w, r)
}

type ctxKey struct{}

type session struct {
	Agent string
	CSRF  string
}

// signedIn lets signed-in agents through. A page request without a valid
// session goes to the sign-in page; a form post without a valid session, or
// without the session's CSRF token, is refused with 403 and changes nothing.
func (d *Desk) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		agent, raw, err := d.agent(r)
		if err != nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			http.Error(w, "Sign in first.", http.StatusForbidden)
			return
		}
		s := session{Agent: agent, CSRF: d.csrfToken(raw)}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil || !d.validCSRF(r.PostForm.Get("csrf"), s.CSRF) {
				d.logger.Warn("call desk: form refused", "agent", agent, "path", r.URL.Path)
				http.Error(w, "This form has expired. Go back, reload the page and try again.", http.StatusForbidden)
				return
			}
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	}
}

func (d *Desk) validCSRF(got, want string) bool {
	return got != "" && hmac.Equal([]byte(got), []byte(want))
}

func sessionOf(r *http.Request) session { s, _ := r.Context().Value(ctxKey{}).(session); return s }

func (d *Desk) render(w http.ResponseWriter, status int, page string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := d.tpl[page].Execute(w, data); err != nil {
		d.logger.Error("call desk: render", "page", page, "error", err)
	}
}

func (d *Desk) fail(w http.ResponseWriter, r *http.Request, err error) {
	d.logger.Error("call desk: request failed", "path", r.URL.Path, "error", err)
	http.Error(w, "Something went wrong; the error was logged. Try again.", http.StatusInternalServerError)
}

func (d *Desk) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, _, err := d.agent(r); err == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	d.showLogin(w, r, http.StatusOK, "")
}

func (d *Desk) showLogin(w http.ResponseWriter, r *http.Request, status int, problem string) {
	nonce := randomToken()
	d.setCookie(w, r, loginCookie, nonce, 600)
	d.render(w, status, "login", map[string]any{"Title": "Sign in", "CSRF": d.mac("login", nonce), "Problem": problem})
}

func (d *Desk) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	nonce, err := r.Cookie(loginCookie)
	if err != nil || r.ParseForm() != nil || !d.validMAC(r.PostForm.Get("csrf"), "login", nonce.Value) {
		http.Error(w, "This sign-in form has expired. Reload the page and try again.", http.StatusForbidden)
		return
	}
	agent := strings.ToLower(strings.TrimSpace(r.PostForm.Get("agent")))
	if !d.checkPassword(agent, r.PostForm.Get("password")) {
		d.logger.Warn("call desk: sign-in refused")
		d.showLogin(w, r, http.StatusUnauthorized, "That name and password do not match.")
		return
	}
	d.setCookie(w, r, loginCookie, "", -1)
	d.setCookie(w, r, sessionCookie, d.sessionValue(agent, d.now().Add(d.sessionTTL)), int(d.sessionTTL.Seconds()))
	d.logger.Info("call desk: signed in", "agent", agent)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (d *Desk) logout(w http.ResponseWriter, r *http.Request) {
	d.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// queueRow is one task in the queue, with the customer's name and local time.
type queueRow struct {
	Task   calltask.Task
	Name   string
	Zone   string
	Window calltask.Window
	Mine   bool
	Held   bool
}

func (d *Desk) queue(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx := r.Context()
	tasks, err := calltask.List(ctx, d.db, calltask.StatusOpen, calltask.StatusClaimed)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = t.CustomerID
	}
	rows, err := d.db.Query(ctx, `select id, name, time_zone from customers where id = any($1)`, ids)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	type who struct{ name, zone string }
	people := map[string]who{}
	var id, name, zone string
	if _, err := pgx.ForEachRow(rows, []any{&id, &name, &zone}, func() error {
		people[id] = who{name, zone}
		return nil
	}); err != nil {
		d.fail(w, r, err)
		return
	}
	now := d.now()
	out := make([]queueRow, 0, len(tasks))
	for _, t := range tasks {
		p := people[t.CustomerID]
		c := customer.Customer{TimeZone: p.zone}
		out = append(out, queueRow{
			Task: t, Name: p.name, Zone: p.zone,
			Window: calltask.CallWindow(now, c.Location(), d.startHour, d.endHour),
			Mine:   t.HeldBy(s.Agent, now), Held: t.Status == calltask.StatusClaimed && t.LeaseUntil != nil && now.Before(*t.LeaseUntil),
		})
	}
	var notice string
	if done, err := strconv.ParseInt(r.URL.Query().Get("done"), 10, 64); err == nil {
		notice = fmt.Sprintf("Task %d recorded. Thank you.", done)
	}
	d.render(w, http.StatusOK, "queue", map[string]any{
		"Title": "Call queue", "Agent": s.Agent, "CSRF": s.CSRF, "Rows": out, "Notice": notice,
		"Now": now, "StartHour": d.startHour, "EndHour": d.endHour,
	})
}

func taskID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

func (d *Desk) task(w http.ResponseWriter, r *http.Request) {
	d.showTask(w, r, http.StatusOK, "")
}

// showTask renders a task with everything the agent needs for the call.
func (d *Desk) showTask(w http.ResponseWriter, r *http.Request, status int, problem string) {
	s := sessionOf(r)
	ctx := r.Context()
	id, ok := taskID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	t, err := calltask.Get(ctx, d.db, id)
	if errors.Is(err, calltask.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	c, err := customer.Get(ctx, d.db, t.CustomerID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	touches, err := ledger.ForCustomer(ctx, d.db, c.ID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	recent := make([]ledger.Touch, 0, 5)
	for i := len(touches) - 1; i >= 0 && len(recent) < 5; i-- {
		recent = append(recent, touches[i])
	}
	points, err := journey.Render(journey.Template{Body: t.TalkingPoints}, c.TemplateData())
	talking := points.Body
	if err != nil {
		talking = t.TalkingPoints
	}
	now := d.now()
	d.render(w, status, "task", map[string]any{
		"Title": fmt.Sprintf("Task %d", t.ID), "Agent": s.Agent, "CSRF": s.CSRF, "Problem": problem,
		"Task": t, "Customer": c, "PhoneInvalid": c.PhoneInvalid, "VoiceConsent": c.Consents[channel.Voice],
		"Window":    calltask.CallWindow(now, c.Location(), d.startHour, d.endHour),
		"StartHour": d.startHour, "EndHour": d.endHour,
		"Touches": recent, "TalkingPoints": talking, "Outcomes": calltask.Outcomes,
		"Mine": t.HeldBy(s.Agent, now), "Open": t.Status == calltask.StatusOpen || t.Status == calltask.StatusClaimed,
		"Resend": t.Status == calltask.StatusCompleted && t.CompletedBy == s.Agent && problem != "",
		"Held":   t.Status == calltask.StatusClaimed && t.LeaseUntil != nil && now.Before(*t.LeaseUntil),
	})
}

func (d *Desk) claim(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	id, ok := taskID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	_, err := calltask.Claim(r.Context(), d.db, id, s.Agent, d.lease)
	switch {
	case errors.Is(err, calltask.ErrNotFound):
		http.NotFound(w, r)
	case errors.Is(err, calltask.ErrTaken):
		d.showTask(w, r, http.StatusConflict, "Someone else has this task, or it is closed.")
	case err != nil:
		d.fail(w, r, err)
	default:
		d.logger.Info("call desk: task claimed", "agent", s.Agent, "task_id", id)
		http.Redirect(w, r, fmt.Sprintf("/tasks/%d", id), http.StatusSeeOther)
	}
}

// maxNotes bounds the notes an agent may write about one call.
const maxNotes = 4000

func (d *Desk) complete(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx := r.Context()
	id, ok := taskID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	outcome, err := calltask.ParseOutcome(r.PostForm.Get("outcome"))
	if err != nil {
		d.showTask(w, r, http.StatusUnprocessableEntity, "Choose what happened on the call.")
		return
	}
	notes := strings.TrimSpace(r.PostForm.Get("notes"))
	if len(notes) > maxNotes {
		d.showTask(w, r, http.StatusUnprocessableEntity, fmt.Sprintf("Notes are limited to %d characters.", maxNotes))
		return
	}
	t, err := calltask.Complete(ctx, d.db, id, s.Agent, outcome, notes)
	switch {
	case errors.Is(err, calltask.ErrNotFound):
		http.NotFound(w, r)
		return
	case errors.Is(err, calltask.ErrNotHeld), errors.Is(err, calltask.ErrClosed):
		d.showTask(w, r, http.StatusConflict, "You do not hold this task any more, so the outcome was not saved.")
		return
	case err != nil:
		d.fail(w, r, err)
		return
	}
	uctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := workflows.SendCallOutcome(uctx, d.temporal, t.WorkflowID, workflows.CallOutcome{TaskID: t.ID, Outcome: outcome}); err != nil {
		d.logger.Error("call desk: journey not told", "agent", s.Agent, "task_id", id, "error", err)
		d.showTask(w, r, http.StatusBadGateway,
			"The outcome is saved, but the journey could not be told yet. Submit again in a moment.")
		return
	}
	d.logger.Info("call desk: task completed", "agent", s.Agent, "task_id", id, "outcome", outcome)
	http.Redirect(w, r, fmt.Sprintf("/?done=%d", id), http.StatusSeeOther)
}
