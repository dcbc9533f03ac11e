package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of journey validate")

// TestJourneyValidateNamesFileLineAndProblem runs `starter journey validate`
// on files with each kind of mistake: every problem comes out as
// FILE:LINE: problem, and the command fails.
func TestJourneyValidateNamesFileLineAndProblem(t *testing.T) {
	files, err := filepath.Glob("../journey/testdata/invalid/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var out, errOut bytes.Buffer
			app := &App{Out: &out, Err: &errOut}
			err := Run(context.Background(), app, []string{"journey", "validate", f})
			require.ErrorIs(t, err, ErrInvalid)
			golden := strings.TrimSuffix(f, ".yaml") + ".out"
			if *update {
				require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run with -update to create %s", golden)
			assert.Equal(t, string(want), out.String())
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				assert.Regexp(t, `^`+regexpQuote(f)+`:[1-9][0-9]*: \S`, line)
			}
		})
	}
}

func regexpQuote(s string) string {
	return strings.NewReplacer(".", `\.`, "/", `/`).Replace(s)
}

func TestJourneyValidateAcceptsTheSamples(t *testing.T) {
	files, err := filepath.Glob("../../deploy/dev/sample/journeys/*.yaml")
	require.NoError(t, err)
	require.Len(t, files, 5)
	var out, errOut bytes.Buffer
	app := &App{Out: &out, Err: &errOut}
	require.NoError(t, Run(context.Background(), app, append([]string{"journey", "validate"}, files...)))
	assert.Empty(t, out.String())
	assert.Equal(t, 5, strings.Count(errOut.String(), ": ok ("))
}

func TestJourneyValidateReportsEveryBadFile(t *testing.T) {
	var out bytes.Buffer
	app := &App{Out: &out, Err: &bytes.Buffer{}}
	err := Run(context.Background(), app, []string{"journey", "validate",
		"../../deploy/dev/sample/journeys/win-back.yaml", "../journey/testdata/invalid/weights.yaml", "no-such-file.yaml"})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "2 of 3")
	assert.Contains(t, out.String(), "weights.yaml:11: step test: variant weights sum to 90, want 100")
	assert.Contains(t, out.String(), "no-such-file.yaml: ")
}
