package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// maxBody bounds every webhook body.
const maxBody = 1 << 20

// SendGridEvent is one entry of a SendGrid Event Webhook batch. Custom
// arguments set at send time arrive as top-level fields.
type SendGridEvent struct {
	Event       string `json:"event"`
	SGEventID   string `json:"sg_event_id"`
	SGMessageID string `json:"sg_message_id"`
	Timestamp   int64  `json:"timestamp"`
	TouchID     int64  `json:"-"`
	CustomerID  string `json:"customer_id"`
	// Type qualifies bounces: "bounce" or "blocked".
	Type string `json:"type"`
	// Reason says why a message was dropped, e.g. "Bounced Address".
	Reason string `json:"reason"`
}

// ParseSendGridEvents parses a signed Event Webhook body: a JSON array of
// events. Events without an sg_event_id cannot be deduplicated and are an
// error; a touch_id that is present must be a positive integer (SendGrid
// sends custom arguments as strings).
func ParseSendGridEvents(body []byte) ([]SendGridEvent, error) {
	var raw []struct {
		SendGridEvent
		RawTouchID json.RawMessage `json:"touch_id"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("sendgrid events: want a JSON array of events: %w", err)
	}
	out := make([]SendGridEvent, 0, len(raw))
	for i, r := range raw {
		e := r.SendGridEvent
		if len(r.RawTouchID) > 0 && string(r.RawTouchID) != "null" {
			id, err := parseID(r.RawTouchID)
			if err != nil {
				return nil, fmt.Errorf("sendgrid event %d: touch_id: %w", i, err)
			}
			e.TouchID = id
		}
		if e.SGEventID == "" || e.Event == "" {
			return nil, fmt.Errorf("sendgrid event %d: event and sg_event_id are required", i)
		}
		out = append(out, e)
	}
	return out, nil
}

func parseID(raw json.RawMessage) (int64, error) {
	s := string(raw)
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, errors.New("not a positive integer")
	}
	return id, nil
}

// TwilioStatus is a message or call status callback.
type TwilioStatus struct {
	// SID is the MessageSid or CallSid.
	SID string
	// Status is MessageStatus or CallStatus (queued, sent, delivered,
	// undelivered, failed, completed, busy, no-answer...).
	Status    string
	ErrorCode string
}

// ParseTwilioStatus reads a status callback's form fields.
func ParseTwilioStatus(form url.Values) (TwilioStatus, error) {
	s := TwilioStatus{SID: form.Get("MessageSid"), Status: form.Get("MessageStatus"), ErrorCode: form.Get("ErrorCode")}
	if s.SID == "" {
		s.SID, s.Status = form.Get("CallSid"), form.Get("CallStatus")
	}
	if s.SID == "" || s.Status == "" {
		return TwilioStatus{}, errors.New("twilio status: MessageSid/MessageStatus or CallSid/CallStatus required")
	}
	return s, nil
}

// Inbound is an SMS a customer sent us.
type Inbound struct {
	MessageSID string
	From       string
	Body       string
}

// ParseInbound reads an inbound message webhook's form fields.
func ParseInbound(form url.Values) (Inbound, error) {
	in := Inbound{MessageSID: form.Get("MessageSid"), From: form.Get("From"), Body: form.Get("Body")}
	if in.MessageSID == "" || in.From == "" {
		return Inbound{}, errors.New("twilio inbound: MessageSid and From are required")
	}
	return in, nil
}

// ParseForm parses a form body with the size limit of webhooks.
func ParseForm(body []byte) (url.Values, error) {
	if len(body) > maxBody {
		return nil, errors.New("form body too large")
	}
	return url.ParseQuery(string(body))
}

// Keyword is what an inbound SMS asks for.
type Keyword int

const (
	// NoKeyword: an ordinary reply.
	NoKeyword Keyword = iota
	// Stop: opt out of SMS.
	Stop
	// Start: opt back in.
	Start
	// Help: ask for help.
	Help
)

// ParseKeyword recognises the carrier opt-out, opt-in and help keywords: the
// whole message, case and surrounding punctuation ignored.
func ParseKeyword(body string) Keyword {
	w := strings.ToUpper(strings.TrimFunc(body, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }))
	switch w {
	case "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT":
		return Stop
	case "START", "YES", "UNSTOP":
		return Start
	case "HELP", "INFO":
		return Help
	}
	return NoKeyword
}

// eventTime converts a Unix timestamp, or returns the zero time.
func eventTime(ts int64) time.Time {
	if ts <= 0 {
		return time.Time{}
	}
	return time.Unix(ts, 0).UTC()
}
