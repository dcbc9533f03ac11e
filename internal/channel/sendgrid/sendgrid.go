// Package sendgrid delivers email through SendGrid's v3 mail/send API with
// the official Go library. Every message carries the touch, customer and
// journey ids in custom_args (so events come back to the ledger), the intent
// as a category, and promotional email carries the one-click unsubscribe
// headers (RFC 8058) of the preference center.
package sendgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/rest"
	sg "github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/outreach-engine/outreach/internal/channel"
)

// DefaultBaseURL is SendGrid's API host.
const DefaultBaseURL = "https://api.sendgrid.com"

// Custom argument names carried by every message and echoed in events.
const (
	ArgTouchID    = "touch_id"
	ArgCustomerID = "customer_id"
	ArgWorkflowID = "workflow_id"
)

// Unsubscriber gives a promotional email its one-click unsubscribe headers
// (List-Unsubscribe and List-Unsubscribe-Post); links.Footer is one.
type Unsubscriber interface {
	UnsubscribeHeaders(customerID string, touchID int64) (map[string]string, error)
}

// Config configures the sender.
type Config struct {
	APIKey string
	// BaseURL overrides DefaultBaseURL (tests, EU data residency).
	BaseURL  string
	From     string
	FromName string
	// Unsubscribe gives promotional email its one-click unsubscribe
	// headers; transactional and caring email carries none.
	Unsubscribe Unsubscriber
	// Sandbox sets mail_settings.sandbox_mode: SendGrid validates the
	// request and accepts it without delivering.
	Sandbox bool
	// HTTP is the client used for requests (a timeout is wise).
	HTTP *http.Client
}

// Sender sends email through SendGrid.
type Sender struct {
	cfg Config
}

// New checks the configuration and returns a sender.
func New(cfg Config) (*Sender, error) {
	switch {
	case cfg.APIKey == "":
		return nil, errors.New("sendgrid: API key is required")
	case cfg.From == "":
		return nil, errors.New("sendgrid: from address is required")
	case cfg.Unsubscribe == nil:
		return nil, errors.New("sendgrid: one-click unsubscribe links are required (preference center link secret and public URL)")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 20 * time.Second}
	}
	return &Sender{cfg: cfg}, nil
}

// Build returns the v3 mail/send body of a message. A promotional message
// whose unsubscribe link cannot be made (no customer) is refused: bulk mail
// never leaves without a way out.
func (s *Sender) Build(msg channel.Message) (*mail.SGMailV3, error) {
	m := mail.NewV3Mail()
	m.SetFrom(mail.NewEmail(s.cfg.FromName, s.cfg.From))
	m.Subject = msg.Subject
	p := mail.NewPersonalization()
	p.AddTos(mail.NewEmail("", msg.To))
	m.AddPersonalizations(p)
	m.AddContent(mail.NewContent("text/plain", msg.Body))
	m.SetCustomArg(ArgTouchID, strconv.FormatInt(msg.TouchID, 10))
	m.SetCustomArg(ArgCustomerID, msg.CustomerID)
	if msg.WorkflowID != "" {
		m.SetCustomArg(ArgWorkflowID, msg.WorkflowID)
	}
	m.AddCategories("outreach", string(msg.Intent))
	if msg.Intent == channel.Promotional {
		h, err := s.cfg.Unsubscribe.UnsubscribeHeaders(msg.CustomerID, msg.TouchID)
		if err != nil {
			return nil, err
		}
		for _, k := range []string{"List-Unsubscribe", "List-Unsubscribe-Post"} {
			if h[k] != "" {
				m.SetHeader(k, h[k])
			}
		}
	}
	if s.cfg.Sandbox {
		m.SetMailSettings(mail.NewMailSettings().SetSandboxMode(mail.NewSetting(true)))
	}
	return m, nil
}

// Send posts the message to mail/send. SendGrid answers 202 with the
// message id in X-Message-Id.
func (s *Sender) Send(ctx context.Context, msg channel.Message) (channel.Receipt, error) {
	if msg.Channel != channel.Email {
		return channel.Receipt{}, &channel.ProviderError{Provider: "sendgrid", Kind: channel.Rejected,
			Reason: "provider.wrong_channel", Detail: "got a " + string(msg.Channel) + " message"}
	}
	if msg.To == "" || !strings.Contains(msg.To, "@") {
		return channel.Receipt{}, &channel.ProviderError{Provider: "sendgrid", Kind: channel.Rejected,
			Reason: "email.invalid_address"}
	}
	m, err := s.Build(msg)
	if err != nil {
		return channel.Receipt{}, &channel.ProviderError{Provider: "sendgrid", Kind: channel.Rejected,
			Reason: "email.no_unsubscribe_link", Detail: err.Error()}
	}
	req := sg.GetRequest(s.cfg.APIKey, "/v3/mail/send", s.cfg.BaseURL)
	req.Method = rest.Post
	req.Body = mail.GetRequestBody(m)
	req.Headers["Content-Type"] = "application/json"
	client := rest.Client{HTTPClient: s.cfg.HTTP}
	res, err := client.SendWithContext(ctx, req)
	if err != nil {
		// The request may have left: the outcome is unknown.
		return channel.Receipt{}, fmt.Errorf("sendgrid: %w", err)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		id := header(res.Headers, "X-Message-Id")
		if id == "" {
			id = "sendgrid-touch-" + strconv.FormatInt(msg.TouchID, 10)
		}
		return channel.Receipt{ProviderID: id}, nil
	}
	return channel.Receipt{}, classify(res)
}

// Lookup cannot find an earlier attempt: mail/send has no idempotency key
// and custom_args are only searchable through the Email Activity API (a paid
// add-on with minutes of delay). The caller decides by intent.
func (s *Sender) Lookup(context.Context, channel.Message, time.Time) (channel.Receipt, bool, error) {
	return channel.Receipt{}, false, channel.ErrLookupUnsupported
}

func header(h map[string][]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// classify maps a SendGrid error response to the provider's answer.
func classify(res *rest.Response) error {
	pe := &channel.ProviderError{Provider: "sendgrid", Status: res.StatusCode, Detail: errorDetail(res.Body)}
	switch {
	case res.StatusCode == http.StatusTooManyRequests:
		pe.Kind, pe.Reason = channel.RateLimited, "provider.rate_limited"
		pe.RetryAfter = retryAfter(res.Headers)
	case res.StatusCode >= 500:
		pe.Kind, pe.Reason = channel.Unavailable, "provider.unavailable"
	default:
		pe.Kind, pe.Reason = channel.Rejected, "provider.rejected"
	}
	return pe
}

// retryAfter reads Retry-After (seconds) or SendGrid's X-RateLimit-Reset
// (a Unix time).
func retryAfter(h map[string][]string) time.Duration {
	if v := header(h, "Retry-After"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return time.Until(t)
		}
	}
	if v := header(h, "X-RateLimit-Reset"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Until(time.Unix(n, 0))
		}
	}
	return 0
}

// errorDetail keeps the error messages of a SendGrid error body, which name
// fields, not recipients.
func errorDetail(body string) string {
	var e struct {
		Errors []struct {
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	parts := make([]string, 0, len(e.Errors))
	for _, x := range e.Errors {
		if x.Field != "" {
			parts = append(parts, x.Field+": "+x.Message)
		} else {
			parts = append(parts, x.Message)
		}
	}
	return strings.Join(parts, "; ")
}
