package prefs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
)

func TestFrequencyCaps(t *testing.T) {
	cases := []struct {
		f      Frequency
		max    int
		window time.Duration
		ok     bool
	}{
		{Any, 0, 0, false},
		{Weekly, 1, 7 * 24 * time.Hour, true},
		{Monthly, 1, 30 * 24 * time.Hour, true},
		{OnRequest, 0, 0, true},
	}
	for _, c := range cases {
		m, w, ok := c.f.Cap()
		assert.Equal(t, []any{c.max, c.window, c.ok}, []any{m, w, ok}, c.f)
	}
	_, err := ParseFrequency("daily")
	assert.ErrorContains(t, err, `unknown frequency "daily"`)
}

func TestQuietTime(t *testing.T) {
	at := func(hm string) time.Time {
		v, err := time.Parse("15:04", hm)
		require.NoError(t, err)
		return v
	}
	night := Quiet{Start: "21:00", End: "08:00"}
	require.NoError(t, night.Validate())
	assert.True(t, night.Contains(at("23:30")))
	assert.True(t, night.Contains(at("07:59")))
	assert.False(t, night.Contains(at("08:00")))
	assert.False(t, night.Contains(at("12:00")))
	lunch := Quiet{Start: "12:00", End: "13:30"}
	assert.True(t, lunch.Contains(at("12:45")))
	assert.False(t, lunch.Contains(at("14:00")))
	assert.False(t, Quiet{}.Contains(at("12:00")))

	for q, want := range map[Quiet]string{
		{Start: "21:00"}:               "both a start and an end",
		{Start: "25:00", End: "08:00"}: "not a time",
		{Start: "21:00", End: "8am"}:   "not a time",
		{Start: "09:00", End: "09:00"}: "both 09:00",
	} {
		assert.ErrorContains(t, q.Validate(), want, "%+v", q)
	}
}

func TestDiffNamesEachChangedField(t *testing.T) {
	old := Preferences{Consents: map[channel.Name]bool{channel.Email: true, channel.SMS: true}, Frequency: Any,
		Interests: []string{"golf", "gardening"}}
	next := Preferences{Consents: map[channel.Name]bool{channel.Email: true}, Frequency: Monthly,
		Quiet: Quiet{Start: "21:00", End: "08:00"}, Interests: []string{"tennis", "gardening"}}
	assert.Equal(t, []Change{
		{"consent.sms", "yes", "no"},
		{"max_frequency", "any", "monthly"},
		{"quiet_time", "none", "21:00–08:00"},
		{"interests", "gardening,golf", "gardening,tennis"},
	}, Diff(old, next))
	assert.Empty(t, Diff(old, old))
	reordered := old
	reordered.Interests = []string{"gardening", "golf"}
	assert.Empty(t, Diff(old, reordered), "the order of interests is not a change")
}

func TestValidateRejectsUnknownChoices(t *testing.T) {
	p := Preferences{Frequency: Weekly, Interests: []string{"golf"}}
	require.NoError(t, p.Validate([]string{"golf"}))
	p.Interests = []string{"golf", "yachts"}
	assert.ErrorContains(t, p.Validate([]string{"golf"}), `unknown interest "yachts"`)
	p = Preferences{Frequency: "hourly"}
	assert.ErrorContains(t, p.Validate(nil), "unknown frequency")
}
