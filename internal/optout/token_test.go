package optout

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTokenRoundTripAndForgery(t *testing.T) {
	t.Parallel()
	s, err := NewSigner("0123456789abcdef-secret")
	require.NoError(t, err)
	tok := s.Token("c-1", 42)
	cust, touch, err := s.Verify(tok)
	require.NoError(t, err)
	require.Equal(t, "c-1", cust)
	require.Equal(t, int64(42), touch)

	other, err := NewSigner("another-secret-of-16-bytes")
	require.NoError(t, err)
	_, _, err = other.Verify(tok)
	require.ErrorIs(t, err, ErrBadToken, "a token signed with another secret")

	// Pointing a valid signature at another customer fails.
	forged := s.Token("c-2", 42)
	_, _, err = s.Verify(forged[:len(forged)-43] + tok[len(tok)-43:])
	require.ErrorIs(t, err, ErrBadToken)
	for _, bad := range []string{"", ".", "abc", "abc.def", tok + "x"} {
		_, _, err := s.Verify(bad)
		require.ErrorIs(t, err, ErrBadToken, bad)
	}
	var unset Signer // a server without a secret accepts no token at all
	_, _, err = unset.Verify(unset.Token("c-1", 42))
	require.ErrorIs(t, err, ErrBadToken)
	_, err = NewSigner("short")
	require.Error(t, err)
}
