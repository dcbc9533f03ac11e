package journey

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSampleJourneys(t *testing.T) {
	files, err := filepath.Glob("../../deploy/dev/sample/journeys/*.yaml")
	require.NoError(t, err)
	require.Len(t, files, 5)
	for _, f := range files {
		def, err := ParseFile(f)
		require.NoError(t, err, f)
		// The definition survives the JSON trip into a workflow input.
		b, err := json.Marshal(def)
		require.NoError(t, err)
		var back Definition
		require.NoError(t, json.Unmarshal(b, &back))
		require.NoError(t, back.Validate(), f)
		assert.Equal(t, def.Steps[0].ID, back.Steps[0].ID)
	}
}

func TestParseReadsEveryStepType(t *testing.T) {
	def, err := ParseFile("../../deploy/dev/sample/journeys/win-back.yaml")
	require.NoError(t, err)
	assert.Equal(t, "win-back", def.Name)
	assert.Equal(t, []string{"purchased", "unsubscribed"}, def.ExitOn)
	assert.Equal(t, 7*24*time.Hour, def.Steps[1].Wait)
	assert.Equal(t, "plan", def.Steps[2].Attribute)
	assert.Equal(t, []Case{{When: "plus", Goto: "plus-offer"}}, def.Steps[2].Cases)
	assert.Equal(t, "next weekday 10:00", def.Steps[4].Until)

	def, err = ParseFile("../../deploy/dev/sample/journeys/welcome-series.yaml")
	require.NoError(t, err)
	assert.Equal(t, []EventBranch{{"opened", "first-offer"}, {"clicked", "first-offer"}}, def.Steps[1].Events)
	assert.Equal(t, 48*time.Hour, def.Steps[1].Timeout)
	assert.Equal(t, "tips-sms", def.Steps[1].OnTimeout)
	assert.Equal(t, []Variant{{"discount", 50, "offer-a"}, {"shipping", 50, "offer-b"}}, def.Steps[3].Variants)

	def, err = ParseFile("../../deploy/dev/sample/journeys/wellness-check-in.yaml")
	require.NoError(t, err)
	assert.Equal(t, StepHumanCall, def.Steps[0].Kind)
	assert.Equal(t, "personal-note", def.Steps[0].FallbackStep)
}

func TestParseRejectsUnknownFieldsWithTheirLine(t *testing.T) {
	_, err := Parse([]byte("name: x\nversion: 1\nsteps:\n  - id: a\n    type: exit\n    colour: blue\n"))
	var ps Problems
	require.ErrorAs(t, err, &ps)
	require.Len(t, ps, 1)
	assert.Equal(t, 6, ps[0].Line)
	assert.Contains(t, ps[0].Msg, `unknown field "colour" for a exit step`)
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"36h": 36 * time.Hour, "3d": 72 * time.Hour, "2w": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour,
		"90m": 90 * time.Minute, "45s": 45 * time.Second, "500ms": 500 * time.Millisecond,
	} {
		got, err := ParseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, want, must(ParseDuration(FormatDuration(got))), in)
	}
	for _, bad := range []string{"", "3", "d", "3 days", "-1d", "0h", "1y", "9999999d", "3.5d"} {
		_, err := ParseDuration(bad)
		assert.Error(t, err, bad)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestUntilNextInTheCustomersZone(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	// Friday 2026-11-20 09:00 in Paris.
	fri9 := time.Date(2026, 11, 20, 9, 0, 0, 0, paris)
	cases := []struct {
		spec string
		now  time.Time
		want time.Time
	}{
		{"10:00", fri9, time.Date(2026, 11, 20, 10, 0, 0, 0, paris)},
		{"weekday 10:00", fri9, time.Date(2026, 11, 20, 10, 0, 0, 0, paris)},
		{"next weekday 10:00", fri9, time.Date(2026, 11, 23, 10, 0, 0, 0, paris)},
		{"weekday 08:00", fri9, time.Date(2026, 11, 23, 8, 0, 0, 0, paris)},
		{"next day 08:00", fri9, time.Date(2026, 11, 21, 8, 0, 0, 0, paris)},
		{"monday 09:30", fri9, time.Date(2026, 11, 23, 9, 30, 0, 0, paris)},
		{"next friday 09:30", fri9, time.Date(2026, 11, 27, 9, 30, 0, 0, paris)},
		{"weekend 11:00", fri9, time.Date(2026, 11, 21, 11, 0, 0, 0, paris)},
	}
	for _, c := range cases {
		u, err := ParseUntil(c.spec)
		require.NoError(t, err, c.spec)
		got := u.Next(c.now.UTC(), paris)
		assert.True(t, c.want.Equal(got), "%s: got %s, want %s", c.spec, got, c.want)
	}
	for _, bad := range []string{"", "10", "25:00", "10:60", "next", "someday 10:00", "next weekday", "10:0"} {
		_, err := ParseUntil(bad)
		assert.Error(t, err, bad)
	}
}

func TestSplitIsDeterministicAndFollowsWeights(t *testing.T) {
	s := Step{ID: "offer", Kind: StepSplit, Variants: []Variant{{"a", 20, ""}, {"b", 30, ""}, {"c", 50, ""}}}
	counts := make([]int, 3)
	for i := 0; i < 20000; i++ {
		id := "c-" + itoa(i)
		v := PickVariant(id, "welcome", s)
		require.Equal(t, v, PickVariant(id, "welcome", s), "a re-run gives the same variant")
		counts[v]++
	}
	for i, w := range []int{20, 30, 50} {
		assert.InDelta(t, float64(w)/100, float64(counts[i])/20000, 0.02, "variant %d", i)
	}
}

func itoa(i int) string { return string(must(json.Marshal(i))) }

func TestValidateBoundsTheEncodedSize(t *testing.T) {
	d := Definition{Name: "x", Version: 1, Steps: []Step{{ID: "a", Kind: StepExit}}}
	require.NoError(t, d.Validate())
	big := Definition{Name: "big", Version: 1, Templates: map[string]Template{}, Steps: []Step{{ID: "a", Kind: StepExit}}}
	for i := 0; i < 40; i++ {
		big.Templates["t"+itoa(i)] = Template{Body: string(make([]byte, 8000)) + "{{.FirstName}}"}
	}
	err := big.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "allowed in a workflow input")
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../deploy/dev/sample/journeys/*.yaml")
	more, _ := filepath.Glob("testdata/invalid/*.yaml")
	for _, p := range append(files, more...) {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("name: x\nversion: 1\nsteps: [{id: a, type: exit}]\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, src []byte) {
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("Parse took more than 10s on %q", src))
			}
		}()
		defer close(done)
		def, err := Parse(src)
		if err == nil {
			// Whatever parses cleanly also validates, and survives JSON.
			require.NoError(t, def.Validate())
			b, jerr := json.Marshal(def)
			require.NoError(t, jerr)
			var back Definition
			require.NoError(t, json.Unmarshal(b, &back))
			require.NoError(t, back.Validate())
			return
		}
		var ps Problems
		require.ErrorAs(t, err, &ps)
		require.NotEmpty(t, ps)
	})
}

func BenchmarkParse(b *testing.B) {
	src, err := os.ReadFile("../../deploy/dev/sample/journeys/welcome-series.yaml")
	require.NoError(b, err)
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPickVariant(b *testing.B) {
	s := Step{ID: "offer", Kind: StepSplit, Variants: []Variant{{"a", 50, ""}, {"b", 50, ""}}}
	for b.Loop() {
		PickVariant("c-000123", "welcome-series", s)
	}
}

// TestTemplatesCannotRunAway: a message template cannot make rendering loop,
// recurse or grow without bound, at validation or at send time.
func TestTemplatesCannotRunAway(t *testing.T) {
	data := SampleData()
	data.Interests = []string{"golf", "tennis"}
	for body, want := range map[string]string{
		`{{range 100000000}}x{{end}}`:                                   "range may only go over a customer field",
		`{{define "x"}}{{template "x"}}{{end}}{{template "x"}}`:         "{{template}} is not supported",
		`{{range .Interests}}{{printf "%099999d" 1}}{{end}}`:            "renders more than",
		`Hi {{.FirstName}}, you like {{range .Interests}}{{.}} {{end}}`: "",
	} {
		_, err := Render(Template{Body: body}, data)
		if want == "" {
			assert.NoError(t, err, body)
			continue
		}
		require.ErrorIs(t, err, ErrRender, body)
		assert.Contains(t, err.Error(), want, body)
	}
}

func TestCheckTemplateAllowsAttributesButNotUnknownFields(t *testing.T) {
	assert.NoError(t, CheckTemplate(Template{Body: "Your plan: {{.Attributes.plan}}"}))
	err := CheckTemplate(Template{Body: "Hi {{.Nickname}}"})
	require.ErrorIs(t, err, ErrRender)
	assert.Contains(t, err.Error(), "Nickname")
	err = CheckTemplate(Template{Body: "{{if .FirstName}}{{end}}"})
	assert.ErrorContains(t, err, "body renders empty")
}

// TestDocumentedExampleIsValid keeps the example in docs/journeys.md honest.
func TestDocumentedExampleIsValid(t *testing.T) {
	doc, err := os.ReadFile("../../docs/journeys.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	require.True(t, ok)
	example, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	def, err := Parse([]byte(example))
	require.NoError(t, err)
	assert.Equal(t, "win-back", def.Name)
}

// BenchmarkRender is the per-touch cost of rendering a message at send time.
func BenchmarkRender(b *testing.B) {
	t := Template{Subject: "Welcome aboard, {{.FirstName}}", Body: "Hi {{.FirstName}},\n\nyou like {{range .Interests}}{{.}} {{end}}.\nSee you{{with .City}} in {{.}}{{end}}."}
	data := SampleData()
	for b.Loop() {
		if _, err := Render(t, data); err != nil {
			b.Fatal(err)
		}
	}
}
