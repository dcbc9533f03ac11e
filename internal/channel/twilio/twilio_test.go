package twilio_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/providertest"
	"github.com/outreach-engine/outreach/internal/channel/twilio"
)

const sid, token = "AC00000000000000000000000000000001", "authtoken0123456789"

func newSender(t *testing.T, base string, ch channel.Name) *twilio.Sender {
	t.Helper()
	s, err := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, From: "+14155550100",
		BaseURL: base, CallbackBase: "https://hooks.shop.example", Timeout: 5 * time.Second}, ch)
	require.NoError(t, err)
	return s
}

func sms(to string) channel.Message {
	return channel.Message{TouchID: 7, CustomerID: "c-1", Channel: channel.SMS, Intent: channel.Promotional,
		To: to, Body: "Hi Ada, 20% off today. Reply STOP to opt out."}
}

func TestSMSCreatesMessageWithStatusCallback(t *testing.T) {
	t.Parallel()
	fake := providertest.NewTwilio(sid, token)
	defer fake.Close()
	r, err := newSender(t, fake.URL, channel.SMS).Send(context.Background(), sms("+447700900001"))
	require.NoError(t, err)
	msgs := fake.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, msgs[0].SID, r.ProviderID)
	require.Equal(t, "+447700900001", msgs[0].To)
	require.Equal(t, "+14155550100", msgs[0].From)
	require.Equal(t, sms("").Body, msgs[0].Body)
	require.Equal(t, "https://hooks.shop.example/webhooks/twilio/status?touch=7", msgs[0].StatusCallback)
}

func TestInvalidNumbersNeverReachTwilio(t *testing.T) {
	t.Parallel()
	fake := providertest.NewTwilio(sid, token)
	defer fake.Close()
	for _, to := range []string{"", "07700900001", "+0123", "+44 7700 900001", "not a number"} {
		_, err := newSender(t, fake.URL, channel.SMS).Send(context.Background(), sms(to))
		pe, ok := channel.AsProviderError(err)
		require.True(t, ok, to)
		require.Equal(t, channel.Rejected, pe.Kind)
		require.Equal(t, "sms.invalid_number", pe.Reason)
	}
	require.Zero(t, fake.Requests())
}

func TestTwilioErrorsAreClassified(t *testing.T) {
	t.Parallel()
	fake := providertest.NewTwilio(sid, token)
	defer fake.Close()
	// The fake answers 400 / 21211 for +1555000xxxx, like Twilio for an unreachable number.
	_, err := newSender(t, fake.URL, channel.SMS).Send(context.Background(), sms("+15550001234"))
	pe, ok := channel.AsProviderError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, channel.Rejected, pe.Kind)
	require.Equal(t, 400, pe.Status)
	require.NotContains(t, err.Error(), "+15550001234", "errors never quote the number")

	// Wrong credentials: 401, rejected (retrying cannot help).
	bad, err := twilio.New(twilio.Config{AccountSID: sid, AuthToken: "wrong", From: "+14155550100", BaseURL: fake.URL}, channel.SMS)
	require.NoError(t, err)
	_, err = bad.Send(context.Background(), sms("+447700900001"))
	pe, ok = channel.AsProviderError(err)
	require.True(t, ok)
	require.Equal(t, 401, pe.Status)
}

func TestVoiceIsTransactionalOnly(t *testing.T) {
	t.Parallel()
	fake := providertest.NewTwilio(sid, token)
	defer fake.Close()
	s := newSender(t, fake.URL, channel.Voice)
	call := channel.Message{TouchID: 9, CustomerID: "c-1", Channel: channel.Voice, Intent: channel.Transactional,
		To: "+447700900001", Body: "Your appointment is tomorrow at 9 & 10."}
	r, err := s.Send(context.Background(), call)
	require.NoError(t, err)
	calls := fake.Calls()
	require.Len(t, calls, 1)
	require.Equal(t, calls[0].SID, r.ProviderID)
	require.Equal(t, "<Response><Say>Your appointment is tomorrow at 9 &amp; 10.</Say></Response>", calls[0].Body)

	for intent, reason := range map[channel.Intent]string{
		channel.Caring: "voice.caring_needs_human", channel.Promotional: "voice.not_transactional",
	} {
		call.Intent = intent
		_, err := s.Send(context.Background(), call)
		pe, ok := channel.AsProviderError(err)
		require.True(t, ok)
		require.Equal(t, channel.Rejected, pe.Kind)
		require.Equal(t, reason, pe.Reason)
	}
	require.Len(t, fake.Calls(), 1, "no automated call for caring or promotional messages")
}

func TestLookupFindsAnEarlierMessage(t *testing.T) {
	t.Parallel()
	fake := providertest.NewTwilio(sid, token)
	defer fake.Close()
	s := newSender(t, fake.URL, channel.SMS)
	ctx := context.Background()
	since := time.Now()
	_, found, err := s.Lookup(ctx, sms("+447700900001"), since)
	require.NoError(t, err)
	require.False(t, found)

	// Another body to the same number is not this touch.
	other := sms("+447700900001")
	other.Body = "Something else"
	_, err = s.Send(ctx, other)
	require.NoError(t, err)
	_, found, err = s.Lookup(ctx, sms("+447700900001"), since)
	require.NoError(t, err)
	require.False(t, found)

	sent, err := s.Send(ctx, sms("+447700900001"))
	require.NoError(t, err)
	r, found, err := s.Lookup(ctx, sms("+447700900001"), since)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, sent.ProviderID, r.ProviderID)

	// A message older than the touch is not the touch.
	_, found, err = s.Lookup(ctx, sms("+447700900001"), time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.False(t, found)
}

func TestTwiMLEscapes(t *testing.T) {
	t.Parallel()
	require.False(t, strings.Contains(twilio.TwiMLSay("<Play>x</Play>"), "<Play>"))
}
