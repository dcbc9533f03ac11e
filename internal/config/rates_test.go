package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
)

func TestParseRates(t *testing.T) {
	rates, err := ParseRates(" email=50, sms=2.5 ,")
	require.NoError(t, err)
	assert.Equal(t, map[channel.Name]float64{channel.Email: 50, channel.SMS: 2.5}, rates)

	rates, err = ParseRates("")
	require.NoError(t, err)
	assert.Empty(t, rates, "no rates: no cap")

	for in, want := range map[string]string{
		"fax=3":      `unknown channel "fax"`,
		"email":      `"email" is not channel=rate`,
		"sms=0":      "not a positive number",
		"voice=fast": "not a positive number",
	} {
		_, err := ParseRates(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
	}
}
