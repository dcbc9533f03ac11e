package journey

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWelcomeIsValid(t *testing.T) {
	def, ok := Builtin("welcome")
	require.True(t, ok)
	require.NoError(t, def.Validate())
	assert.Equal(t, 7*24*time.Hour, def.Steps[3].Wait)
}

func TestValidateReportsEveryProblemWithItsStep(t *testing.T) {
	def := Definition{
		Name: "broken", Version: 1,
		Steps: []Step{
			{ID: "a", Kind: StepSend, Channel: "fax", Intent: "promotional", Template: "t"},
			{ID: "a", Kind: StepWait},
			{ID: "c", Kind: "teleport"},
			{ID: "d", Kind: StepSend, Channel: "email", Intent: "urgent", Template: "missing"},
			{ID: "e", Kind: StepSend, Channel: "email", Intent: "caring", Template: "bad"},
		},
		Templates: map[string]Template{
			"t":   {Body: "Hi {{.FirstName}}"},
			"bad": {Body: "Hi {{.Nickname}}"},
		},
	}
	err := def.Validate()
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`step a: unknown channel "fax"`,
		"step a: duplicate step id",
		"step a: duration must be a positive duration",
		`step c: unknown step type "teleport"`,
		`step d: unknown intent "urgent"`,
		`step d: template "missing" is not defined`,
		`template bad: template does not render`,
	} {
		assert.Contains(t, msg, want)
	}
}

func TestRenderNeverProducesAHalfFilledMessage(t *testing.T) {
	data := SampleData()
	_, err := Render(Template{Body: "Hi {{.Nickname}}"}, data)
	assert.ErrorIs(t, err, ErrRender, "unknown field")

	_, err = Render(Template{Body: "Your plan: {{.Attributes.plan}}"}, data)
	assert.ErrorIs(t, err, ErrRender, "missing attribute")

	_, err = Render(Template{Body: "{{if false}}x{{end}}   "}, data)
	assert.ErrorIs(t, err, ErrRender, "empty body")

	data.Attributes["plan"] = "family"
	got, err := Render(Template{Subject: "Hello {{.FirstName}}", Body: "Your plan: {{.Attributes.plan}}"}, data)
	require.NoError(t, err)
	assert.Equal(t, Rendered{Subject: "Hello Ada", Body: "Your plan: family"}, got)
}
