package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/outreach-engine/outreach/workflows"
)

// TestReplayCommittedHistories replays every history recorded from a real
// run (see TestRecordHistories) against today's workflow code. A change that
// would break journeys already running fails here: guard it with
// workflow.GetVersion.
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.Journey, workflow.RegisterOptions{Name: "Journey"})
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}

// TestLinearHistoryReplaysWhenTheServerSuggestsContinueAsNew replays the
// linear interpreter's history as if the server had suggested continue-as-new
// at every workflow task (as it does for long histories). The old code never
// continued as new; the version guard keeps such a journey on the old path,
// where the new interpreter would continue as new and break the replay.
func TestLinearHistoryReplaysWhenTheServerSuggestsContinueAsNew(t *testing.T) {
	hist, err := client.HistoryFromJSON(mustOpen(t, filepath.Join("testdata", "linear-welcome.json")), client.HistoryJSONOptions{})
	require.NoError(t, err)
	suggested := 0
	for _, ev := range hist.Events {
		if a := ev.GetWorkflowTaskStartedEventAttributes(); a != nil {
			a.SuggestContinueAsNew = true
			suggested++
		}
	}
	require.Greater(t, suggested, 2)
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.Journey, workflow.RegisterOptions{Name: "Journey"})
	require.NoError(t, r.ReplayWorkflowHistory(nil, hist))
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}
