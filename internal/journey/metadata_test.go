package journey_test

import (
	"strings"
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
		`step a: template "vip": claim "top customer": needs a data rule that backs it`,
		`step a: template "vip": audience: unknown life stage "toddler"`,
		`step a: template "vip": addressing: to must be name or resident, got "occupant"`,
		`step b: template "card": surface "postcard" only applies to mail`,
	} {
		assert.ErrorContains(t, err, want)
	}
}

func TestTemplateMetadataComesFromJourneyFiles(t *testing.T) {
	src := `
name: vip-offer
version: 1
steps:
  - id: offer
    type: send
    channel: mail
    intent: promotional
    template: vip
templates:
  vip:
    body: "Hello {{.FirstName}}"
    audience:
      requires_interest: [golf]
      excludes_life_stage: [infant]
    claims:
      - says: one of our most valuable customers
        min_orders: 5
    categories: [sports]
    addressing:
      to: name
    surface: letter
`
	def, err := journey.Parse([]byte(src))
	require.NoError(t, err)
	tpl := def.Templates["vip"]
	assert.Equal(t, []string{"golf"}, tpl.Audience.RequiresInterest)
	assert.Equal(t, []string{"infant"}, tpl.Audience.ExcludesLifeStage)
	require.Len(t, tpl.Claims, 1)
	assert.Equal(t, 5, tpl.Claims[0].MinOrders)
	assert.Equal(t, []string{"sports"}, tpl.Categories)
	assert.Equal(t, journey.SurfaceLetter, tpl.Surface)

	_, err = journey.Parse([]byte(strings.Replace(src, "min_orders: 5", "min_order: 5", 1)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `template vip: claims: unknown field "min_order"`)
}
