// Package webhook is the HTTP side of the providers: SendGrid's Event
// Webhook, Twilio's status callbacks and inbound SMS. Every request is
// authenticated (ECDSA or X-Twilio-Signature) before anything is read into
// the database; every event is stored once by the provider's event key.
// One-click unsubscribe links are the preference center's (internal/web/prefs).
//
// Opt-outs (bounce, spam report, unsubscribe, SMS STOP) withdraw consent on
// their channel at once; engagement (delivered, opened, clicked, replied)
// reaches the touch's running journey as a workflows.SignalEvent.
package webhook

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
	tclient "github.com/twilio/twilio-go/client"
	"go.temporal.io/api/serviceerror"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/workflows"
)

// Paths the handler serves.
const (
	PathSendGrid      = "/webhooks/sendgrid"
	PathTwilioStatus  = "/webhooks/twilio/status"
	PathTwilioInbound = "/webhooks/twilio/inbound"
)

// DefaultMaxAge is how old a signed SendGrid timestamp may be.
const DefaultMaxAge = 5 * time.Minute

// Signaler delivers a signal to a workflow; a Temporal client is one.
type Signaler interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// Handler serves the provider webhooks.
type Handler struct {
	DB       *pgxpool.Pool
	Temporal Signaler
	// SendGridKey verifies the Event Webhook; nil refuses every event.
	SendGridKey *ecdsa.PublicKey
	// TwilioAuthToken verifies X-Twilio-Signature; empty refuses every callback.
	TwilioAuthToken string
	// PublicURL is the scheme and host Twilio calls (signatures cover the
	// full URL as Twilio saw it), e.g. https://hooks.example.com.
	PublicURL string
	// MaxAge bounds the age of a signed SendGrid request (DefaultMaxAge).
	MaxAge time.Duration
	Now    func() time.Time
	Logger *slog.Logger
	// HelpText answers an SMS HELP.
	HelpText string
}

// ServeHTTP routes a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == PathSendGrid && r.Method == http.MethodPost:
		h.sendGrid(w, r)
	case r.URL.Path == PathTwilioStatus && r.Method == http.MethodPost:
		h.twilioStatus(w, r)
	case r.URL.Path == PathTwilioInbound && r.Method == http.MethodPost:
		h.twilioInbound(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	return body, true
}

// verifySendGrid checks the ECDSA signature over timestamp+body and the
// timestamp's age. It answers 401 for a missing signature and 403 for a bad
// or expired one.
func (h *Handler) verifySendGrid(r *http.Request, body []byte) (int, string) {
	sig := r.Header.Get(eventwebhook.VerificationHTTPHeader)
	ts := r.Header.Get(eventwebhook.TimestampHTTPHeader)
	if sig == "" || ts == "" {
		return http.StatusUnauthorized, "signature required"
	}
	if h.SendGridKey == nil {
		return http.StatusForbidden, "event webhook verification key not configured"
	}
	ok, err := eventwebhook.VerifySignature(h.SendGridKey, body, sig, ts)
	if err != nil || !ok {
		return http.StatusForbidden, "bad signature"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	maxAge := h.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if age := h.now().Sub(time.Unix(sec, 0)); err != nil || age > maxAge || age < -maxAge {
		return http.StatusForbidden, "signature expired"
	}
	return 0, ""
}

// sendGridKinds maps SendGrid event names to what they mean here: the
// ledger kind, whether email consent is withdrawn, and the journey event.
var sendGridKinds = map[string]struct {
	revoke bool
	signal workflows.EventKind
}{
	"processed":         {},
	"deferred":          {},
	"dropped":           {},
	"delivered":         {signal: workflows.EventDelivered},
	"open":              {signal: workflows.EventOpened},
	"click":             {signal: workflows.EventClicked},
	"bounce":            {revoke: true, signal: workflows.EventBounced},
	"spamreport":        {revoke: true, signal: workflows.EventUnsubscribed},
	"unsubscribe":       {revoke: true, signal: workflows.EventUnsubscribed},
	"group_unsubscribe": {revoke: true, signal: workflows.EventUnsubscribed},
}

// suppressedDrop lists the drop reasons that mean a suppressed address.
var suppressedDrop = map[string]bool{
	"Bounced Address": true, "Unsubscribed Address": true, "Spam Reporting Address": true, "Invalid": true,
}

func (h *Handler) sendGrid(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if code, msg := h.verifySendGrid(r, body); code != 0 {
		http.Error(w, msg, code)
		return
	}
	events, err := ParseSendGridEvents(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, e := range events {
		meaning, known := sendGridKinds[e.Event]
		if !known || e.TouchID == 0 {
			continue // not ours, or not an event we act on
		}
		// A "blocked" bounce is a temporary refusal, not a dead address; a
		// drop because the address is on a suppression list is as final as
		// the bounce or complaint that put it there.
		revokeConsent := meaning.revoke && !(e.Event == "bounce" && e.Type == "blocked") ||
			e.Event == "dropped" && suppressedDrop[e.Reason]
		if err := h.apply(r.Context(), Event{
			Provider: "sendgrid", Key: e.SGEventID, Kind: e.Event, TouchID: e.TouchID,
			ProviderMessageID: e.SGMessageID, OccurredAt: eventTime(e.Timestamp),
		}, revokeConsent, meaning.signal, ""); err != nil {
			h.fail(w, "sendgrid event", err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// apply stores an event against its touch, withdraws consent if asked, and
// signals the touch's journey, all or nothing: a failure answers 5xx so the
// provider retries, and a replay is stored (and signalled) once.
func (h *Handler) apply(ctx context.Context, e Event, revokeConsent bool, signal workflows.EventKind, detail string) error {
	var t touchRef
	if e.TouchID > 0 {
		var err error
		t, err = loadTouch(ctx, h.DB, e.TouchID)
		if errors.Is(err, errNoTouch) {
			h.logger().Warn("provider event for an unknown touch", "provider", e.Provider, "touch_id", e.TouchID, "kind", e.Kind)
			return nil
		}
		if err != nil {
			return err
		}
		e.CustomerID, e.Channel = t.CustomerID, t.Channel
	}
	return pgx.BeginFunc(ctx, h.DB, func(tx pgx.Tx) error {
		fresh, err := record(ctx, tx, e)
		if err != nil || !fresh {
			return err
		}
		if revokeConsent && e.CustomerID != "" {
			if err := revoke(ctx, tx, e.CustomerID, e.Channel); err != nil {
				return err
			}
			h.logger().Info("consent withdrawn by provider event", "provider", e.Provider, "kind", e.Kind,
				"customer_id", e.CustomerID, "channel", e.Channel)
		}
		if signal != "" && t.WorkflowID != "" {
			return h.signal(ctx, t, signal, detail)
		}
		return nil
	})
}

// signal sends the event to the touch's journey; a journey that has ended
// (or never existed) is not an error.
func (h *Handler) signal(ctx context.Context, t touchRef, kind workflows.EventKind, detail string) error {
	if h.Temporal == nil {
		return nil
	}
	err := h.Temporal.SignalWorkflow(ctx, t.WorkflowID, "", workflows.SignalEvent,
		workflows.Event{Kind: kind, TouchID: t.ID, Channel: t.Channel, Detail: detail})
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("signal journey: %w", err)
	}
	return nil
}

func (h *Handler) fail(w http.ResponseWriter, what string, err error) {
	h.logger().Error("webhook failed", "what", what, "error", err)
	http.Error(w, "temporary failure, retry", http.StatusServiceUnavailable)
}

// verifyTwilio checks X-Twilio-Signature over the public URL and the form.
func (h *Handler) verifyTwilio(r *http.Request, body []byte) (map[string]string, int) {
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		return nil, http.StatusUnauthorized
	}
	if h.TwilioAuthToken == "" {
		return nil, http.StatusForbidden
	}
	form, err := ParseForm(body)
	if err != nil {
		return nil, http.StatusBadRequest
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	v := tclient.NewRequestValidator(h.TwilioAuthToken)
	if !v.Validate(strings.TrimRight(h.PublicURL, "/")+r.URL.RequestURI(), params, sig) {
		return nil, http.StatusForbidden
	}
	return params, 0
}

func formOf(p map[string]string) map[string][]string {
	out := make(map[string][]string, len(p))
	for k, v := range p {
		out[k] = []string{v}
	}
	return out
}

// twilioForm reads and verifies a Twilio request and returns its form; on
// failure it has answered the request and returns false.
func (h *Handler) twilioForm(w http.ResponseWriter, r *http.Request) (map[string][]string, bool) {
	body, ok := readBody(w, r)
	if !ok {
		return nil, false
	}
	params, code := h.verifyTwilio(r, body)
	if code != 0 {
		http.Error(w, http.StatusText(code), code)
		return nil, false
	}
	return formOf(params), true
}

func (h *Handler) twilioStatus(w http.ResponseWriter, r *http.Request) {
	form, ok := h.twilioForm(w, r)
	if !ok {
		return
	}
	st, err := ParseTwilioStatus(form)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	touch, err := strconv.ParseInt(r.URL.Query().Get("touch"), 10, 64)
	if err != nil || touch <= 0 {
		http.Error(w, "status callback without a touch", http.StatusBadRequest)
		return
	}
	var signal workflows.EventKind
	if st.Status == "delivered" || st.Status == "completed" {
		signal = workflows.EventDelivered
	}
	// 21610: the recipient had replied STOP; the carrier refused the message.
	revokeConsent := st.ErrorCode == "21610"
	if err := h.apply(r.Context(), Event{
		Provider: "twilio", Key: st.SID + ":" + st.Status, Kind: st.Status, TouchID: touch,
		ProviderMessageID: st.SID, OccurredAt: h.now(),
	}, revokeConsent, signal, ""); err != nil {
		h.fail(w, "twilio status", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// twiml answers Twilio with a message (or nothing).
func twiml(w http.ResponseWriter, message string) {
	w.Header().Set("Content-Type", "text/xml")
	if message == "" {
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
		return
	}
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Message>`+
		html.EscapeString(message)+`</Message></Response>`)
}

func (h *Handler) twilioInbound(w http.ResponseWriter, r *http.Request) {
	form, ok := h.twilioForm(w, r)
	if !ok {
		return
	}
	in, err := ParseInbound(form)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	customers, err := customersByPhone(ctx, h.DB, in.From)
	if err != nil {
		h.fail(w, "twilio inbound", err)
		return
	}
	kw := ParseKeyword(in.Body)
	reply := ""
	for _, id := range customers {
		if err := h.inbound(ctx, in, kw, id); err != nil {
			h.fail(w, "twilio inbound", err)
			return
		}
	}
	switch kw {
	case Start:
		reply = "You are subscribed again. Reply STOP to opt out, HELP for help."
	case Help:
		reply = h.HelpText
		if reply == "" {
			reply = "Reply STOP to opt out of these messages. Msg & data rates may apply."
		}
	}
	twiml(w, reply)
}

// inbound applies one inbound SMS to one customer with that number.
func (h *Handler) inbound(ctx context.Context, in Inbound, kw Keyword, customerID string) error {
	e := Event{Provider: "twilio", Key: "inbound:" + in.MessageSID + ":" + customerID, CustomerID: customerID,
		Channel: channel.SMS, ProviderMessageID: in.MessageSID, OccurredAt: h.now()}
	switch kw {
	case Stop:
		e.Kind = "stop"
		return h.apply(ctx, e, true, "", "")
	case Start:
		e.Kind = "start"
		return pgx.BeginFunc(ctx, h.DB, func(tx pgx.Tx) error {
			fresh, err := record(ctx, tx, e)
			if err != nil || !fresh {
				return err
			}
			_, err = restore(ctx, tx, customerID, channel.SMS)
			return err
		})
	case Help:
		e.Kind = "help"
		return h.apply(ctx, e, false, "", "")
	}
	// An ordinary reply answers the customer's latest text.
	e.Kind = "replied"
	t, err := latestTouch(ctx, h.DB, customerID, channel.SMS)
	if errors.Is(err, errNoTouch) {
		return h.apply(ctx, e, false, "", "")
	}
	if err != nil {
		return err
	}
	e.TouchID = t.ID
	return h.apply(ctx, e, false, workflows.EventReplied, "")
}
