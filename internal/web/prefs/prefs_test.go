package prefs_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/links"
	choices "github.com/outreach-engine/outreach/internal/prefs"
	"github.com/outreach-engine/outreach/internal/testenv"
	webprefs "github.com/outreach-engine/outreach/internal/web/prefs"
)

var secret = []byte("a-test-secret-of-enough-length-42")

// site is a preference center on a real Postgres, served over HTTP.
type site struct {
	pool   *pgxpool.Pool
	signer *links.Signer
	footer *links.Footer
	srv    *httptest.Server
}

func newSite(t *testing.T, pool *pgxpool.Pool) *site {
	t.Helper()
	signer, err := links.NewSigner(secret, nil)
	require.NoError(t, err)
	h := webprefs.New(webprefs.Options{DB: pool, Signer: signer, Brand: webprefs.Brand{Name: "Acme Garden Supplies", Sender: "hello@acme.example"}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &site{pool: pool, signer: signer, srv: srv,
		footer: &links.Footer{Signer: signer, BaseURL: srv.URL, Brand: "Acme Garden Supplies"}}
}

func seedCustomer(t *testing.T, pool *pgxpool.Pool, id string) {
	t.Helper()
	c := customer.Customer{
		ID: id, Name: "Rosalind Franklin", Email: "rosalind@example.org", Phone: "+447700900123",
		Address:  &customer.Address{Line1: "22 Kensington Row", City: "London", PostalCode: "W8", Country: "GB"},
		TimeZone: "Europe/London", Interests: []string{"gardening"},
		Consents:   map[channel.Name]bool{channel.Email: true, channel.SMS: true, channel.Mail: true},
		Attributes: map[string]any{"orders": 3},
	}
	c.Normalize()
	require.NoError(t, c.Validate())
	require.NoError(t, customer.Upsert(context.Background(), pool, c))
}

func (s *site) token(t *testing.T, customerID string, touchID int64) string {
	t.Helper()
	tok, err := s.signer.Sign(customerID, touchID)
	require.NoError(t, err)
	return tok
}

func do(t *testing.T, method, u string, form url.Values) (int, string, http.Header) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Header
}

// state is everything a page could change, to compare before and after.
func state(t *testing.T, pool *pgxpool.Pool, id string) []any {
	t.Helper()
	var name, email string
	var interests []string
	var changes, suppressions, consents, prefRows int
	require.NoError(t, pool.QueryRow(context.Background(), `
		select name, coalesce(email, ''), interests,
			(select count(*) from preference_changes where customer_id = $1),
			(select count(*) from suppressions where customer_id = $1),
			(select count(*) from consents where customer_id = $1 and granted),
			(select count(*) from customer_preferences where customer_id = $1)
		from customers where id = $1`, id).Scan(&name, &email, &interests, &changes, &suppressions, &consents, &prefRows))
	return []any{name, email, interests, changes, suppressions, consents, prefRows}
}

func TestBadLinksAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	s := newSite(t, pool)
	seedCustomer(t, pool, "c-1")
	seedCustomer(t, pool, "c-2")
	good := s.token(t, "c-1", 0)

	flipped := []byte(good)
	flipped[3] ^= 0x01 // still base64, another byte
	other, err := links.NewSigner([]byte("some-other-secret-entirely-123"), nil)
	require.NoError(t, err)
	forged, err := other.Sign("c-1", 0)
	require.NoError(t, err)
	expired, err := s.signer.SignUntil("c-1", 0, time.Now().Add(-time.Minute))
	require.NoError(t, err)
	// A valid link of another customer with c-1's CSRF token: still refused.
	theirs := s.token(t, "c-2", 0)

	before1, before2 := state(t, pool, "c-1"), state(t, pool, "c-2")
	cases := map[string]struct {
		token  string
		status int
	}{
		"altered":   {string(flipped), http.StatusForbidden},
		"forged":    {forged, http.StatusForbidden},
		"expired":   {expired, http.StatusGone},
		"truncated": {good[:len(good)-4], http.StatusForbidden},
	}
	save := url.Values{"csrf": {s.signer.CSRF(good)}, "frequency": {"on_request"}, "interest": {"golf"}}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			status, body, hdr := do(t, "GET", s.srv.URL+"/p/"+c.token, nil)
			assert.Equal(t, c.status, status)
			assert.Contains(t, body, "Nothing was changed")
			assert.Equal(t, webprefs.ContentSecurityPolicy, hdr.Get("Content-Security-Policy"))
			status, _, _ = do(t, "POST", s.srv.URL+"/p/"+c.token, save)
			assert.Equal(t, c.status, status)
			status, _, _ = do(t, "POST", s.srv.URL+"/u/"+c.token, url.Values{"List-Unsubscribe": {"One-Click"}})
			assert.Equal(t, http.StatusForbidden, status)
			status, _, _ = do(t, "POST", s.srv.URL+"/p/"+c.token+"/erase", url.Values{"csrf": {s.signer.CSRF(good)}, "confirm": {"yes"}})
			assert.Equal(t, c.status, status)
		})
	}
	t.Run("csrf of another link", func(t *testing.T) {
		status, body, _ := do(t, "POST", s.srv.URL+"/p/"+theirs, save)
		assert.Equal(t, http.StatusForbidden, status)
		assert.Contains(t, body, "Nothing was changed")
		status, _, _ = do(t, "POST", s.srv.URL+"/p/"+good+"/erase", url.Values{"confirm": {"yes"}})
		assert.Equal(t, http.StatusForbidden, status, "no CSRF token at all")
	})
	assert.Equal(t, before1, state(t, pool, "c-1"))
	assert.Equal(t, before2, state(t, pool, "c-2"))

	// The same form with the right link and token does save.
	status, _, hdr := do(t, "POST", s.srv.URL+"/p/"+good, save)
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, hdr.Get("Location"), "saved=")
	assert.NotEqual(t, before1, state(t, pool, "c-1"))
	assert.Equal(t, before2, state(t, pool, "c-2"))
}

func TestBadChoicesAreExplainedNotSaved(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	s := newSite(t, pool)
	seedCustomer(t, pool, "c-1")
	tok := s.token(t, "c-1", 0)
	before := state(t, pool, "c-1")
	for form, want := range map[string]url.Values{
		"unknown interest":  {"frequency": {"weekly"}, "interest": {"yachts"}},
		"quiet time needs":  {"frequency": {"weekly"}, "quiet_start": {"21:00"}},
		"unknown frequency": {"frequency": {"hourly"}},
	} {
		want.Set("csrf", s.signer.CSRF(tok))
		status, body, _ := do(t, "POST", s.srv.URL+"/p/"+tok, want)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Contains(t, body, form)
		assert.Contains(t, body, `role="alert"`)
	}
	assert.Equal(t, before, state(t, pool, "c-1"))
}

var unsubscribeURL = regexp.MustCompile(`Unsubscribe from offers by email: (\S+)`)

// TestOneClickUnsubscribe plays a mailbox provider: it reads the
// unsubscribe link from a delivered email and POSTs to it with nothing but
// the RFC 8058 body. Offers by email stop at once; receipts still arrive.
func TestOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	s := newSite(t, pool)
	seedCustomer(t, pool, "c-1")
	acts := &activities.Activities{DB: pool, Senders: sandbox.Senders(pool), Links: s.footer}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	deliver := func(step string, intent channel.Intent) activities.DeliverResult {
		t.Helper()
		v, err := env.ExecuteActivity(acts.Deliver, activities.DeliverInput{
			Planned: ledger.Planned{
				Key:     ledger.Key{WorkflowID: "journey:garden:c-1", EntryID: "run-1", StepKey: step + "#1"},
				Journey: "garden", JourneyVersion: 1, CustomerID: "c-1", StepID: step, Channel: channel.Email, Intent: intent,
			},
			Template: journey.Template{Subject: "Hello {{.FirstName}}", Body: "Hi {{.FirstName}}, " + step + "."},
		})
		require.NoError(t, err)
		var res activities.DeliverResult
		require.NoError(t, v.Get(&res))
		return res
	}

	first := deliver("spring-offer", channel.Promotional)
	require.Equal(t, ledger.Sent, first.Status)
	recs, err := sandbox.ForCustomer(context.Background(), pool, "c-1")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	m := unsubscribeURL.FindStringSubmatch(recs[0].Body)
	require.NotNil(t, m, "the email carries an unsubscribe link:\n%s", recs[0].Body)
	hdrs, err := s.footer.UnsubscribeHeaders("c-1", first.TouchID)
	require.NoError(t, err)
	assert.Equal(t, "List-Unsubscribe=One-Click", hdrs["List-Unsubscribe-Post"])

	// The GET a link scanner might make changes nothing.
	status, body, _ := do(t, "GET", m[1], nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Stop offers by email?")
	assert.Equal(t, ledger.Sent, deliver("summer-offer", channel.Promotional).Status)

	// A bare POST, as mail providers send it: no cookie, no CSRF token.
	resp, err := http.Post(m[1], "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	blocked := deliver("autumn-offer", channel.Promotional)
	assert.Equal(t, ledger.Blocked, blocked.Status)
	assert.Equal(t, "suppression.email.promotional", blocked.Reason)
	receipt := deliver("order-receipt", channel.Transactional)
	assert.Equal(t, ledger.Sent, receipt.Status, "transactional email still flows")

	// The provider retries the POST: still fine, still one change recorded.
	status, _, _ = do(t, "POST", m[1], url.Values{"List-Unsubscribe": {"One-Click"}})
	assert.Equal(t, http.StatusOK, status)
	var changes int
	require.NoError(t, pool.QueryRow(context.Background(),
		`select count(*) from preference_changes where customer_id = 'c-1' and source = 'one_click_unsubscribe'`).Scan(&changes))
	assert.Equal(t, 1, changes)

	// The landing page now says so and offers the preference center.
	status, body, _ = do(t, "GET", m[1], nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "You are unsubscribed")
	assert.Contains(t, body, "Choose what you get")
}

func TestPagesAreAccessibleAndSelfContained(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	s := newSite(t, pool)
	seedCustomer(t, pool, "c-1")
	tok := s.token(t, "c-1", 0)
	input := regexp.MustCompile(`<input [^>]*type="(checkbox|radio|time)"`)
	for _, path := range []string{"/p/" + tok, "/p/" + tok + "/why", "/p/" + tok + "/data", "/u/" + tok, "/p/nope"} {
		_, body, hdr := do(t, "GET", s.srv.URL+path, nil)
		assert.Equal(t, webprefs.ContentSecurityPolicy, hdr.Get("Content-Security-Policy"), path)
		assert.Equal(t, "no-referrer", hdr.Get("Referrer-Policy"), path)
		assert.Equal(t, "no-store", hdr.Get("Cache-Control"), path)
		assert.Contains(t, body, `<meta name="viewport" content="width=device-width, initial-scale=1">`, path)
		assert.Contains(t, body, `<html lang="en">`, path)
		assert.NotContains(t, strings.ToLower(body), "<script", path)
		assert.NotRegexp(t, `(src|href)="https?://`, body, "no third-party resources on %s", path)
		// Every control sits inside its label.
		for _, line := range strings.Split(body, "\n") {
			if input.MatchString(line) && !strings.Contains(line, "<label") {
				t.Errorf("%s: control without a label: %s", path, line)
			}
		}
	}
	status, body, _ := do(t, "GET", s.srv.URL+"/p/"+tok, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Your choices, Rosalind")
	assert.Contains(t, body, `name="csrf" value="`+s.signer.CSRF(tok)+`"`)
	_, body, _ = do(t, "GET", s.srv.URL+"/p/"+tok+"/data", nil)
	assert.Contains(t, body, webprefs.DefaultPromise)
	assert.Contains(t, body, "22 Kensington Row")
}

func TestSwitchedOffOffersCanBeTurnedBackOn(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	s := newSite(t, pool)
	seedCustomer(t, pool, "c-1")
	tok := s.token(t, "c-1", 0)
	_, err := choices.Suppress(context.Background(), pool, "c-1", channel.Email, channel.Promotional, choices.SourceOneClick)
	require.NoError(t, err)

	_, body, _ := do(t, "GET", s.srv.URL+"/p/"+tok, nil)
	assert.Contains(t, body, "Send me offers by email again")
	status, _, hdr := do(t, "POST", s.srv.URL+"/p/"+tok, url.Values{
		"csrf": {s.signer.CSRF(tok)}, "frequency": {"any"}, "interest": {"gardening"},
		"channel_email": {"yes"}, "channel_sms": {"yes"}, "channel_mail": {"yes"}, "lift": {"email.promotional"},
	})
	require.Equal(t, http.StatusSeeOther, status)
	assert.True(t, strings.HasSuffix(hdr.Get("Location"), "saved=1"), "one change: the lifted suppression")
	p, err := choices.Load(context.Background(), pool, "c-1")
	require.NoError(t, err)
	assert.False(t, p.Suppressed(channel.Email, channel.Promotional))
	_, body, _ = do(t, "GET", s.srv.URL+hdr.Get("Location"), nil)
	assert.Contains(t, body, "Saved.")
	assert.NotContains(t, body, "Send me offers by email again")
}

func TestEraseNeedsConfirmation(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	s := newSite(t, pool)
	seedCustomer(t, pool, "c-1")
	tok := s.token(t, "c-1", 0)
	before := state(t, pool, "c-1")
	status, body, _ := do(t, "POST", s.srv.URL+"/p/"+tok+"/erase", url.Values{"csrf": {s.signer.CSRF(tok)}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "tick the box")
	assert.Equal(t, before, state(t, pool, "c-1"))

	status, body, _ = do(t, "POST", s.srv.URL+"/p/"+tok+"/erase", url.Values{"csrf": {s.signer.CSRF(tok)}, "confirm": {"yes"}})
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Your data was erased")
	assert.Empty(t, testenv.FindText(t, pool, "Rosalind", "rosalind@example.org", "+447700900123", "Kensington"))
	// The link still opens, and says so, without showing anything.
	_, body, _ = do(t, "GET", s.srv.URL+"/p/"+tok, nil)
	assert.Contains(t, body, "Your data was erased")
	assert.NotContains(t, body, "<form")
}
