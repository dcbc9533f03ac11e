package channel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
)

// PostalAddress is a structured postal address, as print-and-mail houses
// need it. Message.Postal carries it for mail touches.
type PostalAddress struct {
	Name       string
	Line1      string
	Line2      string
	City       string
	Region     string
	PostalCode string
	Country    string
}

// Reconciler is implemented by senders that can find out whether an earlier
// attempt at a touch reached the provider. The Deliver activity calls Lookup
// instead of sending again when it finds the touch already in "sending": the
// previous attempt handed the message over and then lost the answer (a
// timeout, a dropped connection, a dead worker).
//
// since is when the touch was reserved; nothing older can be the touch.
// found=false with a nil error means the provider certainly has no such
// message and a new send is safe. ErrLookupUnsupported means the provider
// cannot tell, and the caller decides by intent.
type Reconciler interface {
	Lookup(ctx context.Context, msg Message, since time.Time) (r Receipt, found bool, err error)
}

// ErrLookupUnsupported is returned by Reconciler.Lookup when the provider
// offers no way to find an earlier attempt.
var ErrLookupUnsupported = errors.New("provider cannot look up an earlier attempt")

// ErrorKind classifies a provider's definite answer.
type ErrorKind int

const (
	// Rejected: bad request, invalid recipient, refused content. Retrying
	// never helps; the touch fails for good.
	Rejected ErrorKind = iota + 1
	// RateLimited: the provider asked to come back later (HTTP 429).
	RateLimited
	// Unavailable: the provider answered with a server error (5xx).
	Unavailable
)

// ErrTypeProviderRejected is the Temporal error type of a rejected send.
const ErrTypeProviderRejected = "ProviderRejected"

// ErrTypeRateLimited is the Temporal error type of a rate-limited send.
const ErrTypeRateLimited = "ProviderRateLimited"

// ProviderError is a provider's definite answer that it did not accept a
// message: unlike a network error, the message certainly was not sent, so a
// retry cannot duplicate it.
type ProviderError struct {
	Provider string
	Kind     ErrorKind
	// Status is the HTTP status the provider answered with (0 for a check
	// made before any request, such as an invalid phone number).
	Status int
	// Reason is a stable id recorded in the ledger, e.g. "provider.rejected"
	// or "sms.invalid_number".
	Reason string
	// RetryAfter is the provider's Retry-After for RateLimited.
	RetryAfter time.Duration
	// Detail is the provider's message, free of recipient data.
	Detail string
}

func (e *ProviderError) Error() string {
	s := fmt.Sprintf("%s: %s", e.Provider, e.Reason)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Temporal turns a provider's answer into the error the activity returns: a
// rejection is non-retryable, a rate limit retries after the provider's
// delay, a server error retries under the workflow's bounded policy.
func (e *ProviderError) Temporal() error {
	switch e.Kind {
	case Rejected:
		// The reason travels as the error's detail so that the journey
		// records the same reason as the ledger.
		return temporal.NewNonRetryableApplicationError(e.Error(), ErrTypeProviderRejected, nil, e.Reason)
	case RateLimited:
		delay := e.RetryAfter
		if delay <= 0 {
			delay = time.Second
		}
		return temporal.NewApplicationErrorWithOptions(e.Error(), ErrTypeRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: delay})
	}
	return errors.New(e.Error())
}

// AsProviderError returns the provider's definite answer inside err, if any.
func AsProviderError(err error) (*ProviderError, bool) {
	var pe *ProviderError
	ok := errors.As(err, &pe)
	return pe, ok
}
