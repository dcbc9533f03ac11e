package calltask

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
)

func TestRouteSendsEveryCaringVoiceMessageToAPerson(t *testing.T) {
	voiceTransactional := Policy{Human: []Pair{{channel.Voice, channel.Transactional}}}
	cases := []struct {
		ch     channel.Name
		intent channel.Intent
		policy Policy
		want   Handler
	}{
		{channel.Voice, channel.Caring, Policy{}, Human},
		{channel.Voice, channel.Caring, voiceTransactional, Human},
		{channel.Voice, channel.Transactional, Policy{}, Automated},
		{channel.Voice, channel.Transactional, voiceTransactional, Human},
		{channel.Voice, channel.Promotional, voiceTransactional, Automated},
		{channel.Email, channel.Caring, Policy{}, Automated},
		{channel.SMS, channel.Caring, Policy{}, Automated},
		{channel.Mail, channel.Caring, voiceTransactional, Automated},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Route(c.ch, c.intent, c.policy), "%s/%s with %v", c.ch, c.intent, c.policy.Human)
	}
	// No policy, however it is written, turns a caring voice message into an
	// automated call: every possible policy of other pairs is checked.
	var all []Pair
	for _, ch := range channel.All {
		for _, in := range []channel.Intent{channel.Transactional, channel.Caring, channel.Promotional} {
			all = append(all, Pair{ch, in})
		}
	}
	for mask := 0; mask < 1<<len(all); mask += 37 {
		var p Policy
		for i, pair := range all {
			if mask&(1<<i) != 0 {
				p.Human = append(p.Human, pair)
			}
		}
		require.Equal(t, Human, Route(channel.Voice, channel.Caring, p))
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy(" voice/transactional, sms/caring ,voice/transactional,")
	require.NoError(t, err)
	assert.Equal(t, []Pair{{channel.Voice, channel.Transactional}, {channel.SMS, channel.Caring}}, p.Human)

	p, err = ParsePolicy("")
	require.NoError(t, err)
	assert.Empty(t, p.Human)

	for in, want := range map[string]string{
		"voice":          `"voice": want channel/intent`,
		"fax/caring":     `unknown channel "fax"`,
		"voice/friendly": `unknown intent "friendly"`,
	} {
		_, err := ParsePolicy(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want)
	}
}

func TestCallWindowUsesTheCustomersLocalHours(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, paris)
		require.NoError(t, err)
		return tm
	}
	// 06:30 UTC is 07:30 in Paris in winter: too early, opens at 08:00 local.
	w := CallWindow(time.Date(2026, 1, 15, 6, 30, 0, 0, time.UTC), paris, 8, 21)
	assert.False(t, w.Open)
	assert.Equal(t, "07:30", w.LocalNow.Format("15:04"))
	assert.True(t, w.Opens.Equal(at("2026-01-15 08:00")))

	w = CallWindow(at("2026-01-15 08:00"), paris, 8, 21)
	assert.True(t, w.Open, "08:00 sharp is allowed")
	assert.True(t, w.Closes.Equal(at("2026-01-15 21:00")))

	w = CallWindow(at("2026-01-15 21:00"), paris, 8, 21)
	assert.False(t, w.Open, "21:00 is already too late")
	assert.True(t, w.Opens.Equal(at("2026-01-16 08:00")))

	// The night the clocks go forward, the next morning still opens at 08:00 local.
	w = CallWindow(at("2026-03-28 23:30"), paris, 8, 21)
	assert.False(t, w.Open)
	assert.True(t, w.Opens.Equal(at("2026-03-29 08:00")))
	assert.Equal(t, 7*time.Hour+30*time.Minute, w.Opens.Sub(at("2026-03-28 23:30")), "one hour is skipped that night")
}

func BenchmarkRoute(b *testing.B) {
	p, _ := ParsePolicy("voice/transactional,sms/caring,mail/caring")
	for b.Loop() {
		_ = Route(channel.Email, channel.Promotional, p)
	}
}

func BenchmarkCallWindow(b *testing.B) {
	loc, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		_ = CallWindow(now, loc, DefaultCallStartHour, DefaultCallEndHour)
	}
}
