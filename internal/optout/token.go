// Package optout signs and verifies the tokens of one-click unsubscribe links
// (RFC 8058). A token names the customer and the touch it was sent with and
// carries an HMAC-SHA256 over both, so a link cannot be forged or pointed at
// another customer.
package optout

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Signer makes and checks tokens with one secret.
type Signer struct {
	secret []byte
}

// NewSigner returns a signer; the secret must be at least 16 bytes.
func NewSigner(secret string) (Signer, error) {
	if len(secret) < 16 {
		return Signer{}, errors.New("unsubscribe secret must be at least 16 bytes")
	}
	return Signer{secret: []byte(secret)}, nil
}

// ErrBadToken is returned for a token that is malformed or not signed by us.
var ErrBadToken = errors.New("unsubscribe token is invalid")

var enc = base64.RawURLEncoding

func (s Signer) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Token returns the URL-safe token for a customer and touch.
func (s Signer) Token(customerID string, touchID int64) string {
	payload := customerID + "|" + strconv.FormatInt(touchID, 10)
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(s.mac(payload))
}

// Verify returns the customer and touch a token names.
func (s Signer) Verify(token string) (customerID string, touchID int64, err error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok || len(s.secret) == 0 {
		return "", 0, ErrBadToken
	}
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(string(payload))) {
		return "", 0, ErrBadToken
	}
	cust, touch, ok := strings.Cut(string(payload), "|")
	id, err := strconv.ParseInt(touch, 10, 64)
	if !ok || cust == "" || err != nil || id <= 0 {
		return "", 0, ErrBadToken
	}
	return cust, id, nil
}
