package workflows_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/activities"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/workerapp"
	"github.com/outreach-engine/outreach/workflows"
)

// recordingDB is the database of the recording run, for recordings that
// wait for touches before they signal.
var recordingDB *pgxpool.Pool

// recording is one journey run whose history is committed under testdata/
// and replayed by TestReplayCommittedHistories.
type recording struct {
	file  string
	input workflows.JourneyInput
	// during runs while the journey is running, e.g. to signal events.
	during func(t *testing.T, c client.Client, workflowID string)
	// frozen marks a history recorded by older workflow code: it is never
	// re-recorded, since today's code would record something else.
	frozen bool
}

// TestRecordHistories regenerates the committed histories from real runs on a
// dev server with real Postgres and sandbox delivery. It only runs when asked:
//
//	OUTREACH_RECORD_HISTORIES=1 go test -run TestRecordHistories ./workflows/
//
// Record a new file (never overwrite an old one) when the workflow changes, so
// that the histories of journeys started by older code keep replaying.
func TestRecordHistories(t *testing.T) {
	if os.Getenv("OUTREACH_RECORD_HISTORIES") != "1" {
		t.Skip("set OUTREACH_RECORD_HISTORIES=1 to record histories into testdata/")
	}
	pool := testenv.Postgres(t)
	recordingDB = pool
	c := testenv.Temporal(t)
	ctx := context.Background()
	cust := customer.Customer{
		ID: "c-rec", Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+447700900001",
		Address:  &customer.Address{Line1: "1 Example Street", City: "London", PostalCode: "N1", Country: "GB"},
		TimeZone: "Europe/London", Attributes: map[string]any{"plan": "plus"},
		Consents: map[channel.Name]bool{channel.Email: true, channel.SMS: true, channel.Mail: true},
	}
	cust.Normalize()
	require.NoError(t, customer.Upsert(ctx, pool, cust))
	ws := workerapp.New(c, &activities.Activities{DB: pool, Senders: sandbox.Senders(pool)}, time.Second)
	require.NoError(t, ws.Start())
	defer ws.Stop()

	for _, r := range recordings() {
		if r.frozen {
			continue
		}
		if _, err := os.Stat(filepath.Join("testdata", r.file)); err == nil && os.Getenv("OUTREACH_RECORD_OVERWRITE") != "1" {
			t.Logf("%s exists; kept (set OUTREACH_RECORD_OVERWRITE=1 to replace it)", r.file)
			continue
		}
		id := workflows.WorkflowID(r.input.Journey.Name, r.input.CustomerID)
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
			workflows.Journey, r.input)
		require.NoError(t, err)
		if r.during != nil {
			r.during(t, c, id)
		}
		require.NoError(t, run.Get(ctx, nil))
		hist := &historypb.History{}
		iter := c.GetWorkflowHistory(ctx, id, run.GetRunID(), false, 0)
		for iter.HasNext() {
			ev, err := iter.Next()
			require.NoError(t, err)
			hist.Events = append(hist.Events, ev)
		}
		b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join("testdata", r.file), append(b, '\n'), 0o644))
		t.Logf("recorded %s (%d events)", r.file, len(hist.Events))
	}
}
