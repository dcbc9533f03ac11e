package journey_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
)

func TestBuiltinJourneysAreValid(t *testing.T) {
	for _, name := range []string{"welcome", "offers"} {
		def, ok := journey.Builtin(name)
		require.True(t, ok, name)
		assert.NoError(t, def.Validate(), name)
	}
}

func TestTemplateMetadataIsChecked(t *testing.T) {
	def := journey.Definition{
		Name: "bad", Version: 1,
		Steps: []journey.Step{
			{ID: "a", Kind: journey.StepSend, Channel: channel.Email, Intent: channel.Promotional, Template: "vip"},
			{ID: "b", Kind: journey.StepSend, Channel: channel.SMS, Intent: channel.Promotional, Template: "card"},
		},
		Templates: map[string]journey.Template{
			"vip": {
				Body:       "Hi",
				Claims:     []journey.Claim{{Says: "top customer"}},
				Audience:   journey.Audience{RequiresLifeStage: []string{"toddler"}},
				Addressing: journey.Addressing{To: "occupant"},
			},
			"card": {Body: "Hi", Surface: journey.SurfacePostcard},
		},
	}
	err := def.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`step 1 (a): template "vip": claim "top customer": needs a data rule that backs it`,
		`step 1 (a): template "vip": audience: unknown life stage "toddler"`,
		`step 1 (a): template "vip": addressing: to must be name or resident, got "occupant"`,
		`step 2 (b): template "card": surface "postcard" only applies to mail`,
	} {
		assert.ErrorContains(t, err, want)
	}
}
