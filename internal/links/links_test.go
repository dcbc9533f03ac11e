package links

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
)

var (
	secretA = []byte("0123456789abcdef-current-secret")
	secretB = []byte("fedcba9876543210-previous-secret")
	t0      = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
)

func signer(t testing.TB, cur, prev []byte) *Signer {
	t.Helper()
	s, err := NewSigner(cur, prev)
	require.NoError(t, err)
	s.Now = func() time.Time { return t0 }
	return s
}

func TestSignVerifyRoundTrip(t *testing.T) {
	s := signer(t, secretA, nil)
	tok, err := s.Sign("c-1", 42)
	require.NoError(t, err)
	c, err := s.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, "c-1", c.CustomerID)
	assert.EqualValues(t, 42, c.TouchID)
	assert.Equal(t, t0.Add(DefaultTTL), c.Expires)
	assert.Equal(t, tok, url.PathEscape(tok), "the token needs no escaping in a URL")
}

func TestVerifyRefusesAlteredTokens(t *testing.T) {
	s := signer(t, secretA, nil)
	tok, err := s.Sign("c-1", 42)
	require.NoError(t, err)
	raw, err := enc.DecodeString(tok)
	require.NoError(t, err)
	for i := range raw {
		for _, bit := range []byte{1, 0x80} {
			alt := append([]byte(nil), raw...)
			alt[i] ^= bit
			_, err := s.Verify(enc.EncodeToString(alt))
			require.ErrorIs(t, err, ErrInvalid, "byte %d bit %x flipped", i, bit)
		}
	}
	// Another customer's id spliced into a valid token.
	other, err := s.Sign("c-2", 42)
	require.NoError(t, err)
	_, err = s.Verify(tok[:len(tok)-5] + other[len(other)-5:])
	assert.ErrorIs(t, err, ErrInvalid)
	for _, bad := range []string{"", "x", "!!!!", strings.Repeat("A", 40), tok + "A"} {
		_, err := s.Verify(bad)
		assert.ErrorIs(t, err, ErrInvalid, "%q", bad)
	}
}

func TestVerifyRefusesExpired(t *testing.T) {
	s := signer(t, secretA, nil)
	tok, err := s.SignUntil("c-1", 7, t0.Add(time.Minute))
	require.NoError(t, err)
	_, err = s.Verify(tok)
	require.NoError(t, err)
	s.Now = func() time.Time { return t0.Add(time.Minute) }
	_, err = s.Verify(tok)
	assert.ErrorIs(t, err, ErrExpired)
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestRotationAcceptsPreviousSecret(t *testing.T) {
	old := signer(t, secretB, nil)
	tok, err := old.Sign("c-1", 1)
	require.NoError(t, err)
	csrf := old.CSRF(tok)

	rotated := signer(t, secretA, secretB)
	c, err := rotated.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, "c-1", c.CustomerID)
	assert.True(t, rotated.CheckCSRF(tok, csrf))

	// Once the previous secret is dropped, old links stop working.
	_, err = signer(t, secretA, nil).Verify(tok)
	assert.ErrorIs(t, err, ErrTampered)
}

func TestCSRFIsBoundToTheLink(t *testing.T) {
	s := signer(t, secretA, nil)
	a, _ := s.Sign("c-1", 1)
	b, _ := s.Sign("c-2", 1)
	assert.True(t, s.CheckCSRF(a, s.CSRF(a)))
	assert.False(t, s.CheckCSRF(a, s.CSRF(b)))
	assert.False(t, s.CheckCSRF(a, ""))
	assert.False(t, s.CheckCSRF(a, "not base64 !"))
}

func TestNewSignerRejectsShortSecrets(t *testing.T) {
	_, err := NewSigner([]byte("short"), nil)
	assert.ErrorContains(t, err, "at least 16 bytes")
	_, err = NewSigner(secretA, []byte("short"))
	assert.ErrorContains(t, err, "previous link secret")
	_, err = signer(t, secretA, nil).Sign("", 1)
	assert.ErrorContains(t, err, "customer id")
}

func TestFooterAddsLinks(t *testing.T) {
	f := &Footer{Signer: signer(t, secretA, nil), BaseURL: "https://prefs.example.com/", Brand: "Acme"}
	email := f.AddLinks(channel.Message{TouchID: 9, CustomerID: "c-1", Channel: channel.Email, Body: "Hello\n"})
	assert.Contains(t, email.Body, "Choose what you hear from Acme")
	assert.Contains(t, email.Body, "https://prefs.example.com/p/")
	assert.Contains(t, email.Body, "/why\n")
	assert.Contains(t, email.Body, "https://prefs.example.com/u/")

	sms := f.AddLinks(channel.Message{TouchID: 9, CustomerID: "c-1", Channel: channel.SMS, Body: "Hi Ada, tips: reply TIPS."})
	assert.Contains(t, sms.Body, "Prefs: https://prefs.example.com/p/")
	assert.LessOrEqual(t, len(sms.Body), SMSLimit)
	long := strings.Repeat("x", 150)
	assert.Equal(t, long, f.AddLinks(channel.Message{TouchID: 9, CustomerID: "c-1", Channel: channel.SMS, Body: long}).Body,
		"a text that would spill into a second message gets no link")
	assert.Equal(t, "card", f.AddLinks(channel.Message{TouchID: 9, CustomerID: "c-1", Channel: channel.Mail, Body: "card"}).Body)
	var none *Footer
	assert.Equal(t, "x", none.AddLinks(channel.Message{Channel: channel.Email, Body: "x"}).Body)

	h, err := f.UnsubscribeHeaders("c-1", 9)
	require.NoError(t, err)
	assert.Equal(t, "List-Unsubscribe=One-Click", h["List-Unsubscribe-Post"])
	require.True(t, strings.HasPrefix(h["List-Unsubscribe"], "<https://prefs.example.com/u/"))
	tok := strings.TrimSuffix(strings.TrimPrefix(h["List-Unsubscribe"], "<https://prefs.example.com/u/"), ">")
	c, err := f.Signer.Verify(tok)
	require.NoError(t, err)
	assert.EqualValues(t, 9, c.TouchID)
}

func FuzzVerify(f *testing.F) {
	s := signer(f, secretA, secretB)
	good, _ := s.Sign("c-1", 42)
	f.Add(good)
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal %v does not wrap ErrInvalid", err)
			}
			return
		}
		// Anything accepted must be exactly what a signer produced.
		again, err := s.SignUntil(c.CustomerID, c.TouchID, c.Expires)
		if err != nil {
			t.Fatalf("accepted claims %+v cannot be re-signed: %v", c, err)
		}
		if again != tok {
			t.Fatalf("accepted a token no signer made: %q (claims %+v)", tok, c)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	s := signer(b, secretA, nil)
	tok, _ := s.Sign("customer-000123", 123456)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// A retried send must carry the very same text: Twilio's reconciliation
// recognises an earlier, ambiguous attempt by its body.
func TestRetryOfATouchCarriesTheSameLinks(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	s := signer(t, secretA, nil)
	s.Now = func() time.Time { return now }
	f := &Footer{Signer: s, BaseURL: "https://prefs.example.com"}
	msg := channel.Message{TouchID: 9, CustomerID: "c-1", Channel: channel.SMS, Body: "Hi Ada.", ReservedAt: now.Add(-time.Minute)}
	first := f.AddLinks(msg).Body
	now = now.Add(45 * time.Second) // the retry, after the first attempt's timeout
	assert.Equal(t, first, f.AddLinks(msg).Body)

	tok := strings.TrimPrefix(first, "Hi Ada. Prefs: https://prefs.example.com/p/")
	claims, err := s.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, msg.ReservedAt.Add(DefaultTTL).Unix(), claims.Expires.Unix(), "the link lives its TTL from the reservation")
}
