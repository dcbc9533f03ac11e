package throttle

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
)

func mustPolicy(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc))
	require.NoError(t, err)
	return p
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func at(t *testing.T, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	require.NoError(t, err)
	return v
}

func TestDefaultPolicyParses(t *testing.T) {
	p := Default()
	assert.Equal(t, 3, p.Caps[0].Max)
	assert.Equal(t, 7*24*time.Hour, time.Duration(p.Caps[0].Window))
	assert.Equal(t, 24*time.Hour, p.MaxDefer(channel.Promotional))
	assert.Equal(t, Clock(21*60), p.QuietHours[channel.SMS].Start)
	assert.Equal(t, Clock(8*60), p.QuietHours[channel.Voice].End)
	for _, in := range []channel.Intent{channel.Transactional, channel.Caring, channel.Promotional} {
		assert.False(t, p.exempt(in, "quiet_hours.sms"), "%s must not skip quiet hours for texts by default", in)
		assert.False(t, p.exempt(in, "quiet_hours.voice"), "%s must not skip quiet hours for calls by default", in)
	}
}

func TestParseRejectsBadPolicies(t *testing.T) {
	cases := map[string]struct{ doc, want string }{
		"unknown field":      {"min_gapp: 1h", "field min_gapp not found"},
		"bad duration":       {"min_gap: soon", "not a duration"},
		"bad clock":          {"quiet_hours: {sms: {start: '25:00', end: '08:00'}}", "not a time of day"},
		"cap without window": {"caps: [{id: a, max: 1}]", "needs a positive window"},
		"window and per":     {"caps: [{id: a, max: 1, window: 1d, per: local_day}]", "either window or per"},
		"duplicate cap":      {"caps: [{id: a, max: 1, window: 1d}, {id: a, max: 2, window: 2d}]", "duplicate id"},
		"unknown exempt":     {"intents: {caring: {exempt: [cap.nope]}}", `"cap.nope" is not a rule`},
		"unknown channel":    {"quiet_hours: {fax: {start: '21:00', end: '08:00'}}", `unknown channel "fax"`},
		"unknown intent":     {"intents: {urgent: {max_defer: 1h}}", `unknown intent "urgent"`},
		"bad zone":           {"default_time_zone: Mars/Olympus", "not an IANA time zone"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestParseAcceptsJSON(t *testing.T) {
	p := mustPolicy(t, `{"min_gap": "2h", "caps": [{"id": "all", "max": 5, "window": "3d"}]}`)
	assert.Equal(t, 2*time.Hour, time.Duration(p.MinGap))
	assert.Equal(t, 72*time.Hour, time.Duration(p.Caps[0].Window))
}

func TestLocationFallsBackAndSaysSo(t *testing.T) {
	p := mustPolicy(t, "default_time_zone: Europe/Paris")
	loc, note := p.Location("America/Chicago")
	assert.Equal(t, "America/Chicago", loc.String())
	assert.Empty(t, note)
	loc, note = p.Location("Moon/Tranquility")
	assert.Equal(t, "Europe/Paris", loc.String())
	assert.Contains(t, note, `"Moon/Tranquility" is invalid`)
	_, note = p.Location("")
	assert.Contains(t, note, "missing")
}

const testPolicy = `
min_gap: 2h
caps:
  - {id: all_7d, max: 3, window: 7d}
  - {id: all_day, max: 2, per: local_day}
  - {id: promo_7d, max: 1, window: 7d, intents: [promotional]}
  - {id: voice_7d, max: 1, window: 7d, channels: [voice]}
quiet_hours:
  sms:   {start: "21:00", end: "08:00"}
  voice: {start: "21:00", end: "08:00"}
intents:
  transactional: {exempt: [cap.all_7d, cap.all_day, min_gap]}
`

// When touches of several intents wait for the same moment, the most
// important goes first; a lower one waits a minute for it to ask.
func TestPriority(t *testing.T) {
	p := mustPolicy(t, testPolicy)
	ny := zone(t, "America/New_York")
	eight := at(t, ny, "2026-06-11 08:00")
	waiting := func(in channel.Intent, due time.Time) []Past {
		return []Past{{At: due, Channel: channel.SMS, Intent: in}}
	}
	cases := []struct {
		name    string
		intent  channel.Intent
		waiting []Past
		at      time.Time
		want    Outcome
		until   time.Time
	}{
		{"promotion yields to a due transactional", channel.Promotional, waiting(channel.Transactional, eight),
			eight, Deferred, eight.Add(time.Minute)},
		{"caring yields to a due transactional", channel.Caring, waiting(channel.Transactional, eight),
			eight.Add(30 * time.Second), Deferred, eight.Add(time.Minute)},
		{"transactional does not yield to a promotion", channel.Transactional, waiting(channel.Promotional, eight),
			eight, Allowed, time.Time{}},
		{"equal intents do not wait for each other", channel.Caring, waiting(channel.Caring, eight),
			eight, Allowed, time.Time{}},
		{"a touch not yet due holds nothing", channel.Promotional, waiting(channel.Transactional, eight.Add(time.Hour)),
			eight, Allowed, time.Time{}},
		{"a touch that never asked holds nothing after the grace", channel.Promotional,
			waiting(channel.Transactional, eight.Add(-2*time.Minute)), eight, Allowed, time.Time{}},
		{"quiet hours, then priority", channel.Promotional, waiting(channel.Transactional, eight),
			at(t, ny, "2026-06-10 23:00"), Deferred, eight.Add(time.Minute)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := p.Decide(nil, Request{At: c.at, Channel: channel.SMS, Intent: c.intent, Loc: ny, Waiting: c.waiting})
			require.Equal(t, c.want, d.Outcome, d.Reason)
			if c.want == Deferred {
				assert.Equal(t, c.until, d.NotBefore)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	p := mustPolicy(t, testPolicy)
	ny := zone(t, "America/New_York")
	cases := []struct {
		name     string
		history  []string // local times of earlier email promos... see below
		intent   channel.Intent
		channel  channel.Name
		at       string
		deadline string
		want     Outcome
		until    string
		rule     string
	}{
		{name: "empty history, daytime text", channel: channel.SMS, intent: channel.Caring,
			at: "2026-06-10 12:00", want: Allowed},
		{name: "text at night waits for 08:00", channel: channel.SMS, intent: channel.Caring,
			at: "2026-06-10 22:30", want: Deferred, until: "2026-06-11 08:00", rule: "throttle.quiet_hours.sms"},
		{name: "text after midnight waits for 08:00 the same day", channel: channel.SMS, intent: channel.Caring,
			at: "2026-06-10 03:00", want: Deferred, until: "2026-06-10 08:00", rule: "throttle.quiet_hours.sms"},
		{name: "transactional text still keeps quiet hours", channel: channel.SMS, intent: channel.Transactional,
			at: "2026-06-10 22:30", want: Deferred, until: "2026-06-11 08:00", rule: "throttle.quiet_hours.sms"},
		{name: "email ignores quiet hours", channel: channel.Email, intent: channel.Caring,
			at: "2026-06-10 22:30", want: Allowed},
		{name: "min gap", history: []string{"2026-06-10 11:00 email caring"}, channel: channel.Email, intent: channel.Caring,
			at: "2026-06-10 12:00", want: Deferred, until: "2026-06-10 13:00", rule: "throttle.min_gap"},
		{name: "transactional skips the gap", history: []string{"2026-06-10 11:00 email caring"}, channel: channel.Email,
			intent: channel.Transactional, at: "2026-06-10 12:00", want: Allowed},
		{name: "daily cap waits for local midnight",
			history: []string{"2026-06-10 08:00 email caring", "2026-06-10 10:00 email caring"},
			channel: channel.Email, intent: channel.Caring, at: "2026-06-10 20:00",
			want: Deferred, until: "2026-06-11 00:00", rule: "throttle.cap.all_day"},
		{name: "daily cap then quiet hours for a text",
			history: []string{"2026-06-10 08:00 email caring", "2026-06-10 10:00 email caring"},
			channel: channel.SMS, intent: channel.Caring, at: "2026-06-10 20:00",
			want: Deferred, until: "2026-06-11 08:00", rule: "throttle.cap.all_day"},
		{name: "rolling cap: oldest touch leaves the window",
			history: []string{"2026-06-08 09:00 email caring", "2026-06-09 09:00 email caring", "2026-06-10 09:00 email caring"},
			channel: channel.Email, intent: channel.Caring, at: "2026-06-10 20:00",
			want: Deferred, until: "2026-06-15 09:00", rule: "throttle.cap.all_7d"},
		{name: "per-intent cap", history: []string{"2026-06-09 09:00 email promotional"},
			channel: channel.Email, intent: channel.Promotional, at: "2026-06-10 09:00",
			want: Deferred, until: "2026-06-16 09:00", rule: "throttle.cap.promo_7d"},
		{name: "per-intent cap leaves other intents alone", history: []string{"2026-06-09 09:00 email promotional"},
			channel: channel.Email, intent: channel.Caring, at: "2026-06-10 09:00", want: Allowed},
		{name: "per-channel cap", history: []string{"2026-06-09 09:00 voice caring"},
			channel: channel.Voice, intent: channel.Caring, at: "2026-06-10 09:00",
			want: Deferred, until: "2026-06-16 09:00", rule: "throttle.cap.voice_7d"},
		{name: "promotion that goes stale expires", history: []string{"2026-06-09 09:00 email promotional"},
			channel: channel.Email, intent: channel.Promotional, at: "2026-06-10 09:00", deadline: "2026-06-11 09:00",
			want: Expired, until: "2026-06-16 09:00", rule: "throttle.cap.promo_7d"},
		{name: "transactional counts against the others",
			history: []string{"2026-06-10 08:00 email transactional", "2026-06-10 09:00 email transactional"},
			channel: channel.Email, intent: channel.Caring, at: "2026-06-10 12:00",
			want: Deferred, until: "2026-06-11 00:00", rule: "throttle.cap.all_day"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hist []Past
			for _, h := range c.history {
				f := strings.Fields(h)
				hist = append(hist, Past{At: at(t, ny, f[0]+" "+f[1]), Channel: channel.Name(f[2]), Intent: channel.Intent(f[3])})
			}
			req := Request{At: at(t, ny, c.at), Channel: c.channel, Intent: c.intent, Loc: ny}
			if c.deadline != "" {
				req.Deadline = at(t, ny, c.deadline)
			}
			d := p.Decide(hist, req)
			assert.Equal(t, c.want, d.Outcome, d.Reason)
			assert.Equal(t, c.rule, d.Rule)
			if c.until != "" {
				assert.Equal(t, at(t, ny, c.until).UTC(), d.NotBefore.UTC(), d.Reason)
			}
			if c.want != Allowed {
				assert.NotEmpty(t, d.Reason)
			}
		})
	}
}

// Quiet hours and local days follow the customer's clock across daylight
// saving changes. The instants are written in UTC on purpose: 08:00 in New
// York is 12:00Z in summer time and 13:00Z in winter time.
func TestDaylightSavingChanges(t *testing.T) {
	p := mustPolicy(t, testPolicy)
	ny := zone(t, "America/New_York")
	utc := func(s string) time.Time { return at(t, time.UTC, s) }
	cases := []struct {
		name     string
		loc      *time.Location
		at, want time.Time
		history  []time.Time
		wantRule string
	}{
		// 2026-03-08: 02:00 EST jumps to 03:00 EDT. 03:30 EDT is 07:30Z;
		// 08:00 EDT that day is 12:00Z (it would be 13:00Z in winter).
		{name: "spring forward: quiet hours end at 08:00 EDT", loc: ny,
			at: utc("2026-03-08 07:30"), want: utc("2026-03-08 12:00"), wantRule: "throttle.quiet_hours.sms"},
		// 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
		// The second 01:30 (EST) is 06:30Z; 08:00 EST is 13:00Z.
		{name: "fall back: quiet hours end at 08:00 EST", loc: ny,
			at: utc("2026-11-01 06:30"), want: utc("2026-11-01 13:00"), wantRule: "throttle.quiet_hours.sms"},
		// The evening before the spring change, quiet from 21:00 EST (02:00Z)
		// until 08:00 EDT the next morning: 11 hours of wall clock, 10 real.
		{name: "spring forward overnight", loc: ny,
			at: utc("2026-03-08 02:00"), want: utc("2026-03-08 12:00"), wantRule: "throttle.quiet_hours.sms"},
		// Daily cap on the 23-hour day: the next local day starts at
		// midnight EDT, 04:00Z on 2026-03-09.
		{name: "spring forward: next local day", loc: ny, at: utc("2026-03-08 20:00"),
			history: []time.Time{utc("2026-03-08 13:00"), utc("2026-03-08 16:00")},
			want:    utc("2026-03-09 04:00"), wantRule: "throttle.cap.all_day"},
		// Daily cap on the 25-hour day: the next day starts at midnight EST, 05:00Z.
		{name: "fall back: next local day", loc: ny, at: utc("2026-11-01 20:00"),
			history: []time.Time{utc("2026-11-01 13:00"), utc("2026-11-01 16:00")},
			want:    utc("2026-11-02 05:00"), wantRule: "throttle.cap.all_day"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hist []Past
			for _, h := range c.history {
				hist = append(hist, Past{At: h, Channel: channel.Email, Intent: channel.Caring})
			}
			ch := channel.SMS
			if len(hist) > 0 {
				ch = channel.Email
			}
			d := p.Decide(hist, Request{At: c.at, Channel: ch, Intent: channel.Caring, Loc: c.loc})
			require.Equal(t, Deferred, d.Outcome, d.Reason)
			assert.Equal(t, c.want, d.NotBefore.UTC(), d.Reason)
			assert.Equal(t, c.wantRule, d.Rule)
		})
	}
}

// Where a quiet period would end inside the hour the clocks skip, it ends
// when the clocks jump; where midnight does not exist, the day starts at the
// jump.
func TestDaylightSavingGaps(t *testing.T) {
	ny := zone(t, "America/New_York")
	p := mustPolicy(t, `quiet_hours: {sms: {start: "23:00", end: "02:30"}}`)
	// 2026-03-08 01:30 EST = 06:30Z; 02:30 does not exist; the jump is at 07:00Z.
	d := p.Decide(nil, Request{At: at(t, time.UTC, "2026-03-08 06:30"), Channel: channel.SMS, Intent: channel.Caring, Loc: ny})
	require.Equal(t, Deferred, d.Outcome)
	assert.Equal(t, at(t, time.UTC, "2026-03-08 07:00"), d.NotBefore.UTC())

	// 2026-11-01: 01:30 happens twice in New York; the quiet period ends at
	// the first one, 01:30 EDT = 05:30Z, not 01:30 EST = 06:30Z.
	p = mustPolicy(t, `quiet_hours: {sms: {start: "23:00", end: "01:30"}}`)
	d = p.Decide(nil, Request{At: at(t, time.UTC, "2026-11-01 05:00"), Channel: channel.SMS, Intent: channel.Caring, Loc: ny})
	require.Equal(t, Deferred, d.Outcome)
	assert.Equal(t, at(t, time.UTC, "2026-11-01 05:30"), d.NotBefore.UTC())

	// Santiago moves its clocks at local midnight in September.
	scl := zone(t, "America/Santiago")
	p = mustPolicy(t, `caps: [{id: day, max: 1, per: local_day}]`)
	// 2026-09-05 23:00 -04 = 2026-09-06 03:00Z; the 6th starts at 04:00Z (01:00 -03).
	start := at(t, scl, "2026-09-05 22:00")
	d = p.Decide([]Past{{At: start, Channel: channel.Email, Intent: channel.Caring}},
		Request{At: start.Add(time.Hour), Channel: channel.Email, Intent: channel.Caring, Loc: scl})
	require.Equal(t, Deferred, d.Outcome)
	assert.Equal(t, at(t, time.UTC, "2026-09-06 04:00"), d.NotBefore.UTC(), d.Reason)
}

func BenchmarkDecide(b *testing.B) {
	p := Default()
	loc, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 6, 10, 22, 0, 0, 0, loc)
	hist := []Past{
		{At: now.Add(-30 * time.Hour), Channel: channel.Email, Intent: channel.Promotional},
		{At: now.Add(-50 * time.Hour), Channel: channel.SMS, Intent: channel.Caring},
		{At: now.Add(-3 * time.Hour), Channel: channel.Email, Intent: channel.Transactional},
	}
	req := Request{At: now, Channel: channel.SMS, Intent: channel.Promotional, Loc: loc}
	b.ReportAllocs()
	for b.Loop() {
		p.Decide(hist, req)
	}
}
