package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/visibility"
)

// StartMemo is the memo a journey starts with: what the Temporal UI shows
// in a run's summary. It names the journey, never the customer.
func StartMemo(d journey.Definition) map[string]any {
	return map[string]any{"journey": d.Name, "journey_version": d.Version}
}

// upsertVisibility keeps the run's search attributes in step with its state:
// ids, the current step, and the channel and outcome of the latest touch. The
// attributes must be registered on the namespace (`starter temporal setup`);
// the server fails the workflow task while one is not, and the task is
// retried until it is. Visibility never stops a journey: an attribute the SDK
// itself refuses is logged and skipped.
func upsertVisibility(ctx workflow.Context, s JourneyState) {
	updates := []temporal.SearchAttributeUpdate{
		visibility.CustomerID.ValueSet(s.CustomerID),
		visibility.JourneyName.ValueSet(s.Journey),
		visibility.JourneyVersion.ValueSet(int64(s.Version)),
		visibility.JourneyStep.ValueUnset(),
	}
	if s.CurrentStep != "" {
		updates[3] = visibility.JourneyStep.ValueSet(s.CurrentStep)
	}
	for i := len(s.Steps) - 1; i >= 0; i-- {
		if o := s.Steps[i]; o.Status != "" {
			updates = append(updates,
				visibility.LastChannel.ValueSet(string(o.Channel)), visibility.Outcome.ValueSet(string(o.Status)))
			break
		}
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}
