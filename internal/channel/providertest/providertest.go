// Package providertest runs local fakes of the providers' HTTP APIs, speaking
// their documented wire formats (paths, auth headers, JSON and form bodies),
// so tests drive the real SDK code paths. Each fake can accept a request and
// then drop the connection without answering, the ambiguous failure that
// exactly-once delivery has to survive.
package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// hangUp closes the connection without a response.
func hangUp(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// SendGrid fakes POST /v3/mail/send.
type SendGrid struct {
	*httptest.Server
	APIKey string

	mu       sync.Mutex
	mails    []map[string]any
	dropNext bool
	fail     *failure
}

// failure is a forced error answer.
type failure struct {
	status     int
	retryAfter string
}

// FailNext makes the next request answer status (with Retry-After when
// retryAfter is not empty) without accepting anything.
func (f *SendGrid) FailNext(status int, retryAfter string) {
	f.mu.Lock()
	f.fail = &failure{status, retryAfter}
	f.mu.Unlock()
}

func (f *failure) write(w http.ResponseWriter, body string) {
	if f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	_, _ = io.WriteString(w, body)
}

// NewSendGrid starts a fake accepting the given API key.
func NewSendGrid(apiKey string) *SendGrid {
	f := &SendGrid{APIKey: apiKey}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// DropNext makes the next accepted mail hang up instead of answering.
func (f *SendGrid) DropNext() { f.mu.Lock(); f.dropNext = true; f.mu.Unlock() }

// Mails returns the accepted mail/send bodies.
func (f *SendGrid) Mails() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.mails...)
}

func (f *SendGrid) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.APIKey {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"errors":[{"message":"The provided authorization grant is invalid"}]}`)
		return
	}
	f.mu.Lock()
	fail := f.fail
	f.fail = nil
	f.mu.Unlock()
	if fail != nil {
		fail.write(w, `{"errors":[{"message":"too many requests or temporary failure"}]}`)
		return
	}
	var m map[string]any
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m["personalizations"] == nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"errors":[{"message":"Bad Request","field":null}]}`)
		return
	}
	f.mu.Lock()
	f.mails = append(f.mails, m)
	n, drop := len(f.mails), f.dropNext
	f.dropNext = false
	f.mu.Unlock()
	if drop {
		hangUp(w)
		return
	}
	w.Header().Set("X-Message-Id", fmt.Sprintf("sg-%d", n))
	w.WriteHeader(http.StatusAccepted)
}

// TwilioMessage is a message the Twilio fake accepted.
type TwilioMessage struct {
	SID, To, From, Body, StatusCallback string
	Created                             time.Time
}

// Twilio fakes the 2010-04-01 Messages and Calls resources.
type Twilio struct {
	*httptest.Server
	AccountSID, AuthToken string

	mu       sync.Mutex
	messages []TwilioMessage
	calls    []TwilioMessage
	dropNext bool
	requests int
	fail     *failure
}

// FailNext makes the next request answer status (with Retry-After when
// retryAfter is not empty) without accepting anything.
func (f *Twilio) FailNext(status int, retryAfter string) {
	f.mu.Lock()
	f.fail = &failure{status, retryAfter}
	f.mu.Unlock()
}

// NewTwilio starts a fake for one account.
func NewTwilio(accountSID, authToken string) *Twilio {
	f := &Twilio{AccountSID: accountSID, AuthToken: authToken}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// DropNext makes the next created message or call hang up instead of answering.
func (f *Twilio) DropNext() { f.mu.Lock(); f.dropNext = true; f.mu.Unlock() }

// Messages returns the accepted messages.
func (f *Twilio) Messages() []TwilioMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]TwilioMessage(nil), f.messages...)
}

// Calls returns the accepted calls (Body holds the TwiML).
func (f *Twilio) Calls() []TwilioMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]TwilioMessage(nil), f.calls...)
}

// Requests counts every request that reached the fake.
func (f *Twilio) Requests() int { f.mu.Lock(); defer f.mu.Unlock(); return f.requests }

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code)})
}

func (f *Twilio) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	fail := f.fail
	f.fail = nil
	f.mu.Unlock()
	if fail != nil {
		fail.write(w, fmt.Sprintf(`{"code":20429,"message":"Too Many Requests","status":%d}`, fail.status))
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != f.AccountSID || p != f.AuthToken {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	prefix := "/2010-04-01/Accounts/" + f.AccountSID + "/"
	resource, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok || (resource != "Messages.json" && resource != "Calls.json") {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	calls := resource == "Calls.json"
	if r.Method == http.MethodGet {
		f.list(w, r.URL.Query(), calls)
		return
	}
	if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		twilioError(w, http.StatusBadRequest, 20001, "Invalid form")
		return
	}
	m := TwilioMessage{To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), Body: r.PostForm.Get("Body"),
		StatusCallback: r.PostForm.Get("StatusCallback"), Created: time.Now().UTC()}
	if calls {
		m.Body = r.PostForm.Get("Twiml")
	}
	if m.To == "" || m.From == "" || m.Body == "" {
		twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number, 'From' and a body are required.")
		return
	}
	if strings.HasPrefix(m.To, "+1555000") {
		twilioError(w, http.StatusBadRequest, 21211, "The 'To' number "+m.To+" is not a valid phone number.")
		return
	}
	f.mu.Lock()
	if calls {
		m.SID = fmt.Sprintf("CA%032d", len(f.calls)+1)
		f.calls = append(f.calls, m)
	} else {
		m.SID = fmt.Sprintf("SM%032d", len(f.messages)+1)
		f.messages = append(f.messages, m)
	}
	drop := f.dropNext
	f.dropNext = false
	f.mu.Unlock()
	if drop {
		hangUp(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(f.resource(m, calls))
}

func (f *Twilio) resource(m TwilioMessage, call bool) map[string]any {
	out := map[string]any{"sid": m.SID, "account_sid": f.AccountSID, "to": m.To, "from": m.From,
		"status": "queued", "date_created": m.Created.Format(time.RFC1123Z)}
	if !call {
		out["body"] = m.Body
	}
	return out
}

func (f *Twilio) list(w http.ResponseWriter, q url.Values, calls bool) {
	f.mu.Lock()
	src := f.messages
	key := "messages"
	if calls {
		src, key = f.calls, "calls"
	}
	items := []map[string]any{}
	for i := len(src) - 1; i >= 0; i-- { // newest first, as Twilio lists
		m := src[i]
		if (q.Get("To") == "" || q.Get("To") == m.To) && (q.Get("From") == "" || q.Get("From") == m.From) {
			items = append(items, f.resource(m, calls))
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{key: items, "next_page_uri": nil, "page": 0, "page_size": 50})
}

// Postal fakes a Lob-style API: address verification, letters, postcards,
// and Idempotency-Key replay.
type Postal struct {
	*httptest.Server
	APIKey string
	// Deliverability is what verification answers (default "deliverable").
	Deliverability string

	mu            sync.Mutex
	byKey         map[string]string
	pieces        []map[string]any
	verifications int
	dropNext      bool
}

// NewPostal starts a fake accepting the given API key.
func NewPostal(apiKey string) *Postal {
	f := &Postal{APIKey: apiKey, Deliverability: "deliverable", byKey: map[string]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// DropNext makes the next created piece hang up instead of answering.
func (f *Postal) DropNext() { f.mu.Lock(); f.dropNext = true; f.mu.Unlock() }

// Pieces returns the created letters and postcards (kind in "_kind").
func (f *Postal) Pieces() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.pieces...)
}

// Verifications counts address verifications.
func (f *Postal) Verifications() int { f.mu.Lock(); defer f.mu.Unlock(); return f.verifications }

func lobError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "status_code": status, "code": code}})
}

func (f *Postal) serve(w http.ResponseWriter, r *http.Request) {
	if u, _, ok := r.BasicAuth(); !ok || u != f.APIKey {
		lobError(w, http.StatusUnauthorized, "unauthorized", "Your API key is not valid.")
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		lobError(w, http.StatusBadRequest, "invalid", "POST JSON expected")
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		lobError(w, http.StatusUnprocessableEntity, "invalid", "malformed JSON")
		return
	}
	switch r.URL.Path {
	case "/v1/us_verifications", "/v1/intl_verifications":
		f.mu.Lock()
		f.verifications++
		d := f.Deliverability
		f.mu.Unlock()
		if body["primary_line"] == nil || body["primary_line"] == "" {
			lobError(w, http.StatusUnprocessableEntity, "primary_line_required", "primary_line is required")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "us_ver_1", "deliverability": d})
	case "/v1/letters", "/v1/postcards":
		kind := strings.TrimPrefix(r.URL.Path, "/v1/")
		key := r.Header.Get("Idempotency-Key")
		f.mu.Lock()
		id, replay := f.byKey[key]
		if !replay || key == "" {
			id = fmt.Sprintf("%s_%d", kind[:3], len(f.pieces)+1)
			body["_kind"] = kind
			f.pieces = append(f.pieces, body)
			if key != "" {
				f.byKey[key] = id
			}
		}
		drop := f.dropNext
		f.dropNext = false
		f.mu.Unlock()
		if drop {
			hangUp(w)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "object": strings.TrimSuffix(kind, "s")})
	default:
		lobError(w, http.StatusNotFound, "not_found", "not found")
	}
}
