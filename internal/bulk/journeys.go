package bulk

import (
	"context"
	"errors"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/workflows"
)

// JourneyStarter starts one journey per customer. The workflow ID is the
// deterministic journey:<name>:<customer>, so with the REJECT_DUPLICATE
// policy a second start for the same customer is answered "already
// started", which Start reports as Skipped: a re-run starts only the missing
// journeys and never a duplicate.
type JourneyStarter struct {
	Client client.Client
	// Journey names the journey; the workflow ID is built from it.
	Journey string
	// Input builds one customer's workflow input.
	Input func(customerID string) workflows.JourneyInput
	// Memo is the memo every journey starts with (workflows.StartMemo).
	Memo map[string]any
	// Reentry allows a customer who went through the journey before (and
	// whose journey is closed) to start it again.
	Reentry bool
	// OnRun, when set, receives the run of every journey started or found
	// already there (for --wait).
	OnRun func(customerID string, run client.WorkflowRun)
}

// Start starts the journey for one customer.
func (s JourneyStarter) Start(ctx context.Context, customerID string) (Outcome, error) {
	id := workflows.WorkflowID(s.Journey, customerID)
	reuse := enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	if s.Reentry {
		reuse = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	run, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             workflows.TaskQueue,
		WorkflowIDReusePolicy: reuse,
		// Without this the SDK hands back the existing run as if it had
		// just started, and "already there" could not be told apart.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo:                                     s.Memo,
	}, workflows.Journey, s.Input(customerID))
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		if s.OnRun != nil {
			s.OnRun(customerID, s.Client.GetWorkflow(ctx, id, ""))
		}
		return Skipped, nil
	case err != nil:
		return Failed, err
	}
	if s.OnRun != nil {
		s.OnRun(customerID, run)
	}
	return Done, nil
}

// JourneyCanceller requests cancellation of one journey per customer. A
// journey that does not exist or has already ended is Skipped.
type JourneyCanceller struct {
	Client  client.Client
	Journey string
}

// Cancel cancels one customer's journey.
func (c JourneyCanceller) Cancel(ctx context.Context, customerID string) (Outcome, error) {
	err := c.Client.CancelWorkflow(ctx, workflows.WorkflowID(c.Journey, customerID), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return Skipped, nil
	}
	if err != nil {
		return Failed, err
	}
	return Done, nil
}
