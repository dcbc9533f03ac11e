package calldesk

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"golang.org/x/crypto/bcrypt"

	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/testenv"
)

const testSecret = "0123456789abcdef0123456789abcdef-test"

func hash(t *testing.T, pw string) []byte {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	require.NoError(t, err)
	return h
}

type fixture struct {
	pool *pgxpool.Pool
	desk *Desk
	srv  *httptest.Server
	task calltask.Task
}

// newFixture serves a desk over a real Postgres with one open task. Its
// Temporal client never connects: these tests must not get that far.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool := testenv.Postgres(t)
	ctx := context.Background()
	c := customer.Customer{ID: "c-1", Name: "Grace Hopper", Phone: "+12025550101", TimeZone: "America/New_York",
		Consents: map[channel.Name]bool{channel.Voice: true}}
	c.Normalize()
	require.NoError(t, customer.Upsert(ctx, pool, c))
	task, err := calltask.Open(ctx, pool, calltask.NewTask{
		WorkflowID: "calltask:journey:wellness:c-1:check-in-call#1", JourneyWorkflowID: "journey:wellness:c-1",
		EntryID: "run-1", StepKey: "check-in-call#1", CustomerID: "c-1", Journey: "wellness", JourneyVersion: 1,
		StepID: "check-in-call", Reason: "Wellness check-in", TalkingPoints: "Ask {{.FirstName}} how it went.",
		DueAt: time.Now().Add(48 * time.Hour),
	})
	require.NoError(t, err)
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	desk, err := New(Options{
		DB: pool, Temporal: tc, Secret: []byte(testSecret),
		Agents: map[string][]byte{"alice": hash(t, "alice-pw"), "bob": hash(t, "bob-pw")},
	})
	require.NoError(t, err)
	srv := httptest.NewServer(desk)
	t.Cleanup(srv.Close)
	return &fixture{pool: pool, desk: desk, srv: srv, task: task}
}

func noRedirects() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	require.NotNil(t, m, "the page has a CSRF field")
	return m[1]
}

func (f *fixture) signIn(t *testing.T, agent, password string) *http.Client {
	t.Helper()
	c := noRedirects()
	_, page := get(t, c, f.srv.URL+"/login")
	resp, _ := post(t, c, f.srv.URL+"/login", url.Values{"csrf": {csrfOf(t, page)}, "agent": {agent}, "password": {password}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	return c
}

func (f *fixture) status(t *testing.T) calltask.Task {
	t.Helper()
	got, err := calltask.Get(context.Background(), f.pool, f.task.ID)
	require.NoError(t, err)
	return got
}

func (f *fixture) taskURL(suffix string) string {
	return f.srv.URL + "/tasks/" + strconv.FormatInt(f.task.ID, 10) + suffix
}

func TestWithoutSignInPagesRedirectAndFormsAreRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := noRedirects()
	for _, path := range []string{"/", "/tasks/" + strconv.FormatInt(f.task.ID, 10)} {
		resp, body := get(t, c, f.srv.URL+path)
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode, path)
		assert.Equal(t, "/login", resp.Header.Get("Location"))
		assert.NotContains(t, body, "Grace", "no customer data without signing in")
	}
	for _, action := range []string{"/claim", "/complete"} {
		resp, _ := post(t, c, f.taskURL(action), url.Values{"outcome": {"reached"}})
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, action)
	}
	assert.Equal(t, calltask.StatusOpen, f.status(t).Status, "nothing changed")
}

func TestForgedSessionsAreRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other, err := New(Options{DB: f.pool, Temporal: f.desk.temporal, Secret: []byte(strings.Repeat("x", 32)),
		Agents: f.desk.agents})
	require.NoError(t, err)
	future := time.Now().Add(time.Hour)
	forged := map[string]string{
		"bad signature":        "alice." + strconv.FormatInt(future.Unix(), 10) + ".AAAA",
		"another secret":       other.sessionValue("alice", future),
		"expired":              f.desk.sessionValue("alice", time.Now().Add(-time.Minute)),
		"unknown agent":        f.desk.sessionValue("mallory", future),
		"edited agent":         strings.Replace(f.desk.sessionValue("bob", future), "bob", "alice", 1),
		"extended lifetime":    strings.Replace(f.desk.sessionValue("alice", future), strconv.FormatInt(future.Unix(), 10), strconv.FormatInt(future.Add(time.Hour).Unix(), 10), 1),
		"not a session at all": "alice",
	}
	u, _ := url.Parse(f.srv.URL)
	for name, value := range forged {
		c := noRedirects()
		c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: value}})
		resp, _ := get(t, c, f.srv.URL+"/")
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode, name)
		csrf := f.desk.csrfToken(value) // even a matching token does not help
		resp, _ = post(t, c, f.taskURL("/claim"), url.Values{"csrf": {csrf}})
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, name)
	}
	assert.Equal(t, calltask.StatusOpen, f.status(t).Status, "nothing changed")
}

func TestFormsNeedTheSessionsCSRFToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.signIn(t, "alice", "alice-pw")
	bob := f.signIn(t, "bob", "bob-pw")
	_, bobPage := get(t, bob, f.taskURL(""))
	for name, token := range map[string][]string{"missing": nil, "another session's": {csrfOf(t, bobPage)}, "made up": {"x"}} {
		resp, _ := post(t, alice, f.taskURL("/claim"), url.Values{"csrf": token})
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, name)
	}
	assert.Equal(t, calltask.StatusOpen, f.status(t).Status, "nothing changed")

	_, page := get(t, alice, f.taskURL(""))
	resp, _ := post(t, alice, f.taskURL("/claim"), url.Values{"csrf": {csrfOf(t, page)}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	got := f.status(t)
	assert.Equal(t, "alice", got.ClaimedBy)

	// Bob sees who holds the task and cannot take it or record an outcome.
	_, bobPage = get(t, bob, f.taskURL(""))
	assert.Contains(t, bobPage, "alice is working on this call")
	resp, _ = post(t, bob, f.taskURL("/claim"), url.Values{"csrf": {csrfOf(t, bobPage)}})
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	resp, _ = post(t, bob, f.taskURL("/complete"), url.Values{"csrf": {csrfOf(t, bobPage)}, "outcome": {"reached"}})
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Equal(t, calltask.StatusClaimed, f.status(t).Status)
	assert.Equal(t, "alice", f.status(t).ClaimedBy)
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := noRedirects()
	_, page := get(t, c, f.srv.URL+"/login")
	csrf := csrfOf(t, page)

	resp, body := post(t, c, f.srv.URL+"/login", url.Values{"csrf": {csrf}, "agent": {"alice"}, "password": {"wrong"}})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, body, "That name and password do not match.")
	for _, ck := range resp.Cookies() {
		assert.NotEqual(t, sessionCookie, ck.Name, "no session for a wrong password")
	}

	fresh := noRedirects() // no sign-in cookie: the form was not rendered for it
	resp, _ = post(t, fresh, f.srv.URL+"/login", url.Values{"csrf": {csrf}, "agent": {"alice"}, "password": {"alice-pw"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	_, page = get(t, c, f.srv.URL+"/login")
	resp, _ = post(t, c, f.srv.URL+"/login", url.Values{"csrf": {csrfOf(t, page)}, "agent": {"Alice "}, "password": {"alice-pw"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			session = ck
		}
	}
	require.NotNil(t, session)
	assert.True(t, session.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, session.SameSite)

	resp, body = get(t, c, f.srv.URL+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "Grace Hopper")
	assert.Contains(t, body, `href="/tasks/`+strconv.FormatInt(f.task.ID, 10)+`"`, "links carry task ids only")
	assert.Contains(t, body, "America/New_York")

	resp, body = get(t, c, f.taskURL(""))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "Ask Grace how it went.", "talking points are rendered for this customer")
	assert.Contains(t, body, "12025550101", "the agent sees the number to dial")
}

func TestParseAgents(t *testing.T) {
	h := string(hash(t, "pw"))
	agents, err := ParseAgents("alice:" + h + ", bob:" + h)
	require.NoError(t, err)
	assert.Len(t, agents, 2)
	for in, want := range map[string]string{
		"alice":                      "want name:bcrypt-hash",
		"Alice:" + h:                 "lower-case name",
		"alice:plaintext":            "not a bcrypt hash",
		"alice:" + h + ",alice:" + h: "listed twice",
	} {
		_, err := ParseAgents(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want)
		assert.NotContains(t, err.Error(), "plaintext", "errors never echo a password")
	}
}
