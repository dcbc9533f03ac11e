package postal_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/postal"
	"github.com/outreach-engine/outreach/internal/channel/providertest"
)

func letter(intent channel.Intent) channel.Message {
	return channel.Message{TouchID: 11, CustomerID: "c-1", Channel: channel.Mail, Intent: intent,
		Body: "Dear Ada,\nyour order <#5> shipped.",
		Postal: &channel.PostalAddress{Name: "Ada Lovelace", Line1: "1 Example Street", City: "San Francisco",
			Region: "CA", PostalCode: "94107", Country: "us"}}
}

func newSender(t *testing.T, base string) *postal.Sender {
	t.Helper()
	s, err := postal.New(postal.Config{APIKey: "test_key", BaseURL: base, FromAddressID: "adr_shop"})
	require.NoError(t, err)
	return s
}

func TestLetterIsVerifiedThenCreatedOnce(t *testing.T) {
	t.Parallel()
	fake := providertest.NewPostal("test_key")
	defer fake.Close()
	s := newSender(t, fake.URL)
	r1, err := s.Send(context.Background(), letter(channel.Transactional))
	require.NoError(t, err)
	r2, err := s.Send(context.Background(), letter(channel.Transactional))
	require.NoError(t, err)
	require.Equal(t, r1.ProviderID, r2.ProviderID, "the Idempotency-Key (touch id) returns the first piece")
	require.Equal(t, 2, fake.Verifications())
	pieces := fake.Pieces()
	require.Len(t, pieces, 1)
	p := pieces[0]
	require.Equal(t, "letters", p["_kind"], "a transactional message travels in an envelope")
	require.Equal(t, "adr_shop", p["from"])
	require.Equal(t, map[string]any{"name": "Ada Lovelace", "address_line1": "1 Example Street",
		"address_city": "San Francisco", "address_state": "CA", "address_zip": "94107", "address_country": "US"}, p["to"])
	require.Equal(t, "<html><body><p>Dear Ada,<br>your order &lt;#5&gt; shipped.</p></body></html>", p["file"])
	require.Equal(t, map[string]any{"touch_id": "11", "customer_id": "c-1"}, p["metadata"])
}

func TestPromotionIsAPostcard(t *testing.T) {
	t.Parallel()
	fake := providertest.NewPostal("test_key")
	defer fake.Close()
	_, err := newSender(t, fake.URL).Send(context.Background(), letter(channel.Promotional))
	require.NoError(t, err)
	require.Equal(t, "postcards", fake.Pieces()[0]["_kind"])
}

func TestUndeliverableAddressIsRejectedBeforePrinting(t *testing.T) {
	t.Parallel()
	fake := providertest.NewPostal("test_key")
	fake.Deliverability = "undeliverable"
	defer fake.Close()
	_, err := newSender(t, fake.URL).Send(context.Background(), letter(channel.Transactional))
	pe, ok := channel.AsProviderError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, channel.Rejected, pe.Kind)
	require.Equal(t, "mail.undeliverable", pe.Reason)
	require.Empty(t, fake.Pieces())

	m := letter(channel.Transactional)
	m.Postal = nil
	_, err = newSender(t, fake.URL).Send(context.Background(), m)
	pe, ok = channel.AsProviderError(err)
	require.True(t, ok)
	require.Equal(t, "mail.address_incomplete", pe.Reason)
}

func TestWrongKeyIsRejected(t *testing.T) {
	t.Parallel()
	fake := providertest.NewPostal("test_key")
	defer fake.Close()
	s, err := postal.New(postal.Config{APIKey: "other", BaseURL: fake.URL, FromAddressID: "adr_shop"})
	require.NoError(t, err)
	_, err = s.Send(context.Background(), letter(channel.Transactional))
	pe, ok := channel.AsProviderError(err)
	require.True(t, ok)
	require.Equal(t, 401, pe.Status)
	require.Equal(t, channel.Rejected, pe.Kind)
}
