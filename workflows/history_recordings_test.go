package workflows_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/workflows"
)

func sample(name string) journey.Definition {
	def, err := journey.ParseFile(filepath.Join("..", "deploy", "dev", "sample", "journeys", name+".yaml"))
	if err != nil {
		panic(err)
	}
	return def
}

// signalAfterTouches sends an event once the journey has recorded n touches.
func signalAfterTouches(n int, kind workflows.EventKind) func(t *testing.T, c client.Client, id string) {
	return func(t *testing.T, c client.Client, id string) {
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			touches, err := ledger.ForWorkflow(context.Background(), recordingDB, id)
			require.NoError(ct, err)
			assert.GreaterOrEqual(ct, len(touches), n)
		}, 30*time.Second, 50*time.Millisecond)
		require.NoError(t, c.SignalWorkflow(context.Background(), id, "", workflows.SignalEvent, workflows.Event{Kind: kind}))
	}
}

func recordings() []recording {
	return []recording{
		{
			// Recorded by the foundation's linear interpreter (sends and waits
			// in file order), before the interpreter learned jumps and events.
			file:   "linear-welcome.json",
			frozen: true,
			input:  workflows.JourneyInput{CustomerID: "c-rec", Journey: journey.Welcome(200*time.Millisecond, 200*time.Millisecond)},
		},
		{
			// wait_for whose event arrives, then a split.
			file:   "interpreter-welcome-series-opened.json",
			input:  workflows.JourneyInput{CustomerID: "c-rec", Journey: sample("welcome-series"), MaxWait: 10 * time.Second},
			during: signalAfterTouches(1, workflows.EventOpened),
		},
		{
			// A caring send with a fallback, a week's wait, a branch on an attribute.
			file:  "interpreter-win-back.json",
			input: workflows.JourneyInput{CustomerID: "c-rec", Journey: sample("win-back"), MaxWait: 300 * time.Millisecond},
		},
		{
			// A human call recorded as pending, its fallback, a wait_for that times out.
			file:  "interpreter-wellness-check-in.json",
			input: workflows.JourneyInput{CustomerID: "c-rec", Journey: sample("wellness-check-in"), MaxWait: 300 * time.Millisecond},
		},
		{
			// An exit event during a wait_for.
			file:   "interpreter-cart-abandonment-purchased.json",
			input:  workflows.JourneyInput{CustomerID: "c-rec", Journey: sample("cart-abandonment"), MaxWait: 10 * time.Second},
			during: signalAfterTouches(1, workflows.EventPurchased),
		},
	}
}
