// Package twilio delivers SMS and transactional voice calls through Twilio's
// REST API with the official Go library. Numbers are checked as E.164 before
// any request; SMS carry a status callback naming the touch; a caring
// message is never turned into an automated call.
package twilio

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	tclient "github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
)

// DefaultBaseURL is Twilio's REST API host.
const DefaultBaseURL = "https://api.twilio.com"

// StatusCallbackPath is where Twilio posts message and call status changes;
// the touch id travels in the query (?touch=ID), covered by the signature.
const StatusCallbackPath = "/webhooks/twilio/status"

// Config configures the sender.
type Config struct {
	AccountSID string
	AuthToken  string
	From       string
	// BaseURL overrides DefaultBaseURL (tests).
	BaseURL string
	// CallbackBase is the public base URL of the webhook server; empty
	// means no status callbacks are requested.
	CallbackBase string
	// Timeout bounds each request (default 10s: a retry may list and then
	// send within one 30-second activity attempt).
	Timeout time.Duration
	// Transport is the HTTP transport (default http.DefaultTransport).
	Transport http.RoundTripper
}

var alnum = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// Sender sends SMS or voice calls; Channel says which.
type Sender struct {
	cfg     Config
	Channel channel.Name
}

// New checks the configuration and returns a sender for ch (sms or voice).
func New(cfg Config, ch channel.Name) (*Sender, error) {
	switch {
	case cfg.AccountSID == "" || cfg.AuthToken == "":
		return nil, errors.New("twilio: account SID and auth token are required")
	case !alnum.MatchString(cfg.AccountSID) || !alnum.MatchString(cfg.AuthToken):
		return nil, errors.New("twilio: account SID and auth token must be letters and digits")
	case !customer.ValidPhone(cfg.From):
		return nil, fmt.Errorf("twilio: from number %q is not E.164", cfg.From)
	case ch != channel.SMS && ch != channel.Voice:
		return nil, fmt.Errorf("twilio: cannot send on channel %s", ch)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.CallbackBase = strings.TrimRight(cfg.CallbackBase, "/")
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	return &Sender{cfg: cfg, Channel: ch}, nil
}

func rejected(reason, detail string) error {
	return &channel.ProviderError{Provider: "twilio", Kind: channel.Rejected, Reason: reason, Detail: detail}
}

// Send creates a Message (sms) or a Call with inline TwiML (voice).
func (s *Sender) Send(ctx context.Context, msg channel.Message) (channel.Receipt, error) {
	if msg.Channel != s.Channel {
		return channel.Receipt{}, rejected("provider.wrong_channel", "twilio "+string(s.Channel)+" sender got a "+string(msg.Channel)+" message")
	}
	if !customer.ValidPhone(msg.To) {
		return channel.Receipt{}, rejected(string(s.Channel)+".invalid_number", "recipient is not an E.164 number")
	}
	svc, rec := s.service(ctx)
	switch s.Channel {
	case channel.SMS:
		p := &api.CreateMessageParams{}
		p.SetTo(msg.To).SetFrom(s.cfg.From).SetBody(msg.Body)
		if cb := s.statusCallback(msg.TouchID); cb != "" {
			p.SetStatusCallback(cb)
		}
		m, err := svc.CreateMessage(p)
		if err != nil {
			return channel.Receipt{}, classify(err, rec)
		}
		return channel.Receipt{ProviderID: deref(m.Sid)}, nil
	default:
		// A robot must not say it cares: caring voice goes to human callers.
		if msg.Intent == channel.Caring {
			return channel.Receipt{}, rejected("voice.caring_needs_human", "a caring message is never an automated call")
		}
		if msg.Intent != channel.Transactional {
			return channel.Receipt{}, rejected("voice.not_transactional", "automated calls carry transactional messages only")
		}
		p := &api.CreateCallParams{}
		p.SetTo(msg.To).SetFrom(s.cfg.From).SetTwiml(TwiMLSay(msg.Body))
		if cb := s.statusCallback(msg.TouchID); cb != "" {
			p.SetStatusCallback(cb)
		}
		c, err := svc.CreateCall(p)
		if err != nil {
			return channel.Receipt{}, classify(err, rec)
		}
		return channel.Receipt{ProviderID: deref(c.Sid)}, nil
	}
}

// Lookup finds a message (or call) that an earlier, ambiguous attempt
// created: same recipient, same sender number, created after the touch was
// reserved, and for SMS the same body.
func (s *Sender) Lookup(ctx context.Context, msg channel.Message, since time.Time) (channel.Receipt, bool, error) {
	if !customer.ValidPhone(msg.To) {
		return channel.Receipt{}, false, nil
	}
	svc, rec := s.service(ctx)
	after := since.Add(-time.Minute) // clock skew between us and the provider
	if s.Channel == channel.SMS {
		p := &api.ListMessageParams{}
		p.SetTo(msg.To).SetFrom(s.cfg.From).SetLimit(50)
		list, err := svc.ListMessage(p)
		if err != nil {
			return channel.Receipt{}, false, classify(err, rec)
		}
		for _, m := range list {
			if deref(m.Body) == msg.Body && createdAfter(m.DateCreated, after) {
				return channel.Receipt{ProviderID: deref(m.Sid)}, true, nil
			}
		}
		return channel.Receipt{}, false, nil
	}
	p := &api.ListCallParams{}
	p.SetTo(msg.To).SetFrom(s.cfg.From).SetLimit(20)
	list, err := svc.ListCall(p)
	if err != nil {
		return channel.Receipt{}, false, classify(err, rec)
	}
	for _, c := range list {
		if createdAfter(c.DateCreated, after) {
			return channel.Receipt{ProviderID: deref(c.Sid)}, true, nil
		}
	}
	return channel.Receipt{}, false, nil
}

func (s *Sender) statusCallback(touchID int64) string {
	if s.cfg.CallbackBase == "" {
		return ""
	}
	return s.cfg.CallbackBase + StatusCallbackPath + "?touch=" + strconv.FormatInt(touchID, 10)
}

// TwiMLSay is the TwiML of a call that reads text once.
func TwiMLSay(text string) string {
	var b strings.Builder
	b.WriteString("<Response><Say>")
	_ = xml.EscapeText(&b, []byte(text))
	b.WriteString("</Say></Response>")
	return b.String()
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// createdAfter parses Twilio's RFC 1123 date_created.
func createdAfter(v *string, t time.Time) bool {
	if v == nil {
		return false
	}
	d, err := time.Parse(time.RFC1123Z, *v)
	return err == nil && !d.Before(t)
}

// service returns the SDK's API service for one call, bound to ctx and to
// the configured base URL, and the recorder of the raw HTTP answer.
func (s *Sender) service(ctx context.Context) (*api.ApiService, *recorder) {
	rec := &recorder{ctx: ctx, next: s.cfg.Transport}
	c := &tclient.Client{
		Credentials: tclient.NewCredentials(s.cfg.AccountSID, s.cfg.AuthToken),
		HTTPClient: &http.Client{
			Transport:     rec,
			Timeout:       s.cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(s.cfg.AccountSID)
	return api.NewApiServiceWithClient(rebased{Client: c, base: s.cfg.BaseURL}), rec
}

// rebased sends the SDK's requests to the configured base URL.
type rebased struct {
	*tclient.Client
	base string
}

func (r rebased) SendRequest(method, rawURL string, data url.Values, headers map[string]any, body ...byte) (*http.Response, error) {
	if rest, ok := strings.CutPrefix(rawURL, DefaultBaseURL); ok {
		rawURL = r.base + rest
	}
	return r.Client.SendRequest(method, rawURL, data, headers, body...)
}

// recorder binds requests to the activity's context (the SDK has no
// context parameter) and keeps the status and Retry-After of the answer,
// which the SDK's error type drops.
type recorder struct {
	ctx        context.Context
	next       http.RoundTripper
	mu         sync.Mutex
	status     int
	retryAfter time.Duration
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.next.RoundTrip(req.WithContext(r.ctx))
	if err == nil {
		r.mu.Lock()
		r.status = res.StatusCode
		if v := res.Header.Get("Retry-After"); v != "" {
			if n, perr := strconv.Atoi(v); perr == nil && n >= 0 {
				r.retryAfter = time.Duration(n) * time.Second
			}
		}
		r.mu.Unlock()
	}
	return res, err
}

func (r *recorder) answer() (int, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, r.retryAfter
}

// classify maps an SDK error to the provider's answer. A request that got no
// answer stays a plain error: the outcome is unknown.
func classify(err error, rec *recorder) error {
	status, after := rec.answer()
	var te *tclient.TwilioRestError
	detail := ""
	if errors.As(err, &te) {
		if te.Status != 0 {
			status = te.Status
		}
		// The message may quote the phone number: keep the code only.
		detail = fmt.Sprintf("error %d", te.Code)
	}
	if status == 0 || (status >= 200 && status < 300) {
		return fmt.Errorf("twilio: %w", err)
	}
	pe := &channel.ProviderError{Provider: "twilio", Status: status, Detail: detail}
	switch {
	case status == http.StatusTooManyRequests:
		pe.Kind, pe.Reason, pe.RetryAfter = channel.RateLimited, "provider.rate_limited", after
	case status >= 500:
		pe.Kind, pe.Reason = channel.Unavailable, "provider.unavailable"
	default:
		pe.Kind, pe.Reason = channel.Rejected, "provider.rejected"
	}
	return pe
}
