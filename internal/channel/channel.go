// Package channel owns the names of the engine's contact channels and message
// intents, and the small interface every delivery implementation satisfies
// (sandbox today; SendGrid, Twilio and the mail house behind the same shape).
package channel

import (
	"context"
	"fmt"
	"time"
)

// Name is a contact channel.
type Name string

const (
	Email Name = "email"
	SMS   Name = "sms"
	Voice Name = "voice"
	Mail  Name = "mail"
)

// All lists every channel in a stable order.
var All = []Name{Email, SMS, Voice, Mail}

// Valid reports whether n is a known channel.
func (n Name) Valid() bool {
	switch n {
	case Email, SMS, Voice, Mail:
		return true
	}
	return false
}

// ParseName returns the channel named s or an error naming the allowed values.
func ParseName(s string) (Name, error) {
	n := Name(s)
	if !n.Valid() {
		return "", fmt.Errorf("unknown channel %q (want email, sms, voice or mail)", s)
	}
	return n, nil
}

// Intent is what a message means to the customer; it drives routing and priority.
type Intent string

const (
	Transactional Intent = "transactional"
	Caring        Intent = "caring"
	Promotional   Intent = "promotional"
)

// Valid reports whether i is a known intent.
func (i Intent) Valid() bool {
	switch i {
	case Transactional, Caring, Promotional:
		return true
	}
	return false
}

// ParseIntent returns the intent named s or an error naming the allowed values.
func ParseIntent(s string) (Intent, error) {
	i := Intent(s)
	if !i.Valid() {
		return "", fmt.Errorf("unknown intent %q (want transactional, caring or promotional)", s)
	}
	return i, nil
}

// Message is one rendered touch, ready for a provider. It carries PII (the
// recipient and the body) and therefore never travels through Temporal: the
// Deliver activity builds it from Postgres and hands it straight to a Sender.
type Message struct {
	// TouchID is the ledger row of this touch; senders use it as the
	// idempotency key so that a retried send never reaches the customer twice.
	TouchID    int64
	CustomerID string
	Channel    Name
	Intent     Intent
	// To is the address on the channel: an email address, an E.164 phone
	// number, or a one-line postal address.
	To      string
	Subject string
	Body    string
	// Format is how mail is printed: "postcard" (readable by anyone who
	// handles it) or "letter" (sealed in an envelope). Empty for other channels.
	Format string
	// Postal is the structured address of a mail touch (nil on other channels).
	Postal *PostalAddress
	// WorkflowID is the journey that planned the touch; providers echo it
	// back in events (e.g. SendGrid custom_args).
	WorkflowID string
	// ReservedAt is when the ledger reserved the touch: the same on every
	// attempt, so what is derived from it (a link's expiry) renders the
	// same bytes on a retry, and a lookup by content finds the first one.
	ReservedAt time.Time
}

// Receipt is what a provider gave back for an accepted message.
type Receipt struct {
	// ProviderID identifies the message at the provider (or in the sandbox outbox).
	ProviderID string
}

// Sender delivers messages on one channel. Implementations must be idempotent
// by Message.TouchID: a second Send for the same touch returns the first
// receipt instead of sending again.
type Sender interface {
	Send(ctx context.Context, msg Message) (Receipt, error)
}
