package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWebDefaultsHaveNoLinks(t *testing.T) {
	for _, s := range Settings {
		t.Setenv(s.Env, "")
	}
	w, err := LoadWeb()
	require.NoError(t, err)
	assert.False(t, w.LinksEnabled())
	assert.Equal(t, "", w.HTTPAddr)
	assert.Equal(t, 90*24*time.Hour, w.LinkTTL)
}

func TestWebSettingsAreChecked(t *testing.T) {
	for _, s := range Settings {
		t.Setenv(s.Env, "")
	}
	t.Setenv("OUTREACH_PUBLIC_URL", "https://prefs.example.com")
	_, err := LoadWeb()
	assert.ErrorContains(t, err, "OUTREACH_LINK_SECRET is not")

	t.Setenv("OUTREACH_LINK_SECRET", "0123456789abcdef0123")
	t.Setenv("OUTREACH_LINK_TTL", "forever")
	_, err = LoadWeb()
	assert.ErrorContains(t, err, "OUTREACH_LINK_TTL")

	t.Setenv("OUTREACH_LINK_TTL", "720h")
	t.Setenv("OUTREACH_HTTP_ADDR", "127.0.0.1:8088")
	w, err := LoadWeb()
	require.NoError(t, err)
	assert.True(t, w.LinksEnabled())
	assert.Equal(t, 720*time.Hour, w.LinkTTL)
	assert.Equal(t, []byte("0123456789abcdef0123"), w.LinkSecret)
}
