// Package links signs and checks the links a customer finds in every message:
// the preference center, one-click unsubscribe and "why did I get this?".
//
// A token names one customer and one touch and carries its expiry, signed with
// HMAC-SHA256, so that no login is needed and no one can reach another
// customer's preferences by editing a URL. Verification accepts the current
// secret and, during a rotation, the previous one. The package is pure: no I/O,
// the clock is injected.
package links

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// MinSecretLen is the shortest secret accepted, in bytes.
const MinSecretLen = 16

// macLen is the length of the truncated HMAC-SHA256 tag: 128 bits, enough
// against forgery and short enough for a link in a text message.
const macLen = 16

// version is the first byte of every payload, so the format can change.
const version = 1

// DefaultTTL is how long a link works when the signer sets no TTL: long
// enough for a customer who opens an old email, short enough that a
// forwarded message stops being a key to the account.
const DefaultTTL = 90 * 24 * time.Hour

// Errors returned by Verify. Every refusal wraps ErrInvalid.
var (
	ErrInvalid   = errors.New("links: invalid token")
	ErrExpired   = fmt.Errorf("%w: expired", ErrInvalid)
	ErrTampered  = fmt.Errorf("%w: signature does not match", ErrInvalid)
	ErrMalformed = fmt.Errorf("%w: malformed", ErrInvalid)
)

// Claims is what a token says.
type Claims struct {
	CustomerID string
	TouchID    int64
	Expires    time.Time
}

// Signer makes and checks tokens.
type Signer struct {
	current  []byte
	previous []byte
	// TTL is the lifetime of new tokens (DefaultTTL when zero).
	TTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// NewSigner returns a signer with the current secret and, optionally, the
// previous one (empty when no rotation is under way). Secrets shorter than
// MinSecretLen are refused.
func NewSigner(current, previous []byte) (*Signer, error) {
	if len(current) < MinSecretLen {
		return nil, fmt.Errorf("links: the link secret must be at least %d bytes, got %d", MinSecretLen, len(current))
	}
	if len(previous) > 0 && len(previous) < MinSecretLen {
		return nil, fmt.Errorf("links: the previous link secret must be at least %d bytes, got %d", MinSecretLen, len(previous))
	}
	return &Signer{current: bytes.Clone(current), previous: bytes.Clone(previous)}, nil
}

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Signer) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

// enc is strict, so one token has exactly one spelling.
var enc = base64.RawURLEncoding.Strict()

// Sign returns a URL-safe token for the customer and touch that expires after
// the signer's TTL.
func (s *Signer) Sign(customerID string, touchID int64) (string, error) {
	return s.SignUntil(customerID, touchID, s.now().Add(s.ttl()))
}

// SignUntil returns a token that expires at the given time.
func (s *Signer) SignUntil(customerID string, touchID int64, expires time.Time) (string, error) {
	if customerID == "" || len(customerID) > 255 {
		return "", fmt.Errorf("links: customer id must be 1 to 255 bytes, got %d", len(customerID))
	}
	if touchID < 0 {
		return "", fmt.Errorf("links: touch id %d is negative", touchID)
	}
	p := make([]byte, 0, 2+2*binary.MaxVarintLen64+len(customerID)+macLen)
	p = append(p, version)
	p = binary.AppendUvarint(p, uint64(touchID))
	p = binary.AppendVarint(p, expires.Unix())
	p = append(p, customerID...)
	p = append(p, mac(s.current, p)...)
	return enc.EncodeToString(p), nil
}

// Verify checks a token's signature (current secret first, then the previous
// one) and expiry, and returns its claims.
func (s *Signer) Verify(token string) (Claims, error) {
	raw, err := enc.DecodeString(token)
	if err != nil || len(raw) < 1+macLen+3 {
		return Claims{}, ErrMalformed
	}
	body, tag := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	ok := hmac.Equal(tag, mac(s.current, body))
	if !ok && len(s.previous) > 0 {
		ok = hmac.Equal(tag, mac(s.previous, body))
	}
	if !ok {
		return Claims{}, ErrTampered
	}
	if body[0] != version {
		return Claims{}, ErrMalformed
	}
	rest := body[1:]
	touch, n := binary.Uvarint(rest)
	if n <= 0 || touch > 1<<63-1 {
		return Claims{}, ErrMalformed
	}
	rest = rest[n:]
	exp, n := binary.Varint(rest)
	if n <= 0 {
		return Claims{}, ErrMalformed
	}
	rest = rest[n:]
	if len(rest) == 0 {
		return Claims{}, ErrMalformed
	}
	c := Claims{CustomerID: string(rest), TouchID: int64(touch), Expires: time.Unix(exp, 0).UTC()}
	if !s.now().Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

// CSRF returns the form token bound to a link token: a page's forms carry it,
// and a POST without the right one is refused. It needs no cookie or session.
func (s *Signer) CSRF(token string) string {
	return enc.EncodeToString(mac(s.current, []byte("csrf\x00"+token)))
}

// CheckCSRF reports whether form is the CSRF token of the link token (made
// with the current or the previous secret).
func (s *Signer) CheckCSRF(token, form string) bool {
	got, err := enc.DecodeString(form)
	if err != nil {
		return false
	}
	msg := []byte("csrf\x00" + token)
	if hmac.Equal(got, mac(s.current, msg)) {
		return true
	}
	return len(s.previous) > 0 && hmac.Equal(got, mac(s.previous, msg))
}

func mac(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)[:macLen]
}
