package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/internal/bulk"
	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/internal/channel/sandbox"
	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/workflows"
)

// ErrJourneysFailed means at least one journey failed or could not start.
var ErrJourneysFailed = errors.New("some journeys failed")

// startParallelism bounds how many journeys --wait follows at once.
const startParallelism = 16

type startOutcome struct {
	customerID string
	workflowID string
	run        client.WorkflowRun
	err        error
	result     workflows.JourneyResult
}

func cmdStart(ctx context.Context, a *App, args []string) error {
	fs := flags(a, "start")
	name := fs.String("journey", "", "journey file, or a built-in journey name (required): welcome, offers or wellness")
	var who audienceFlags
	who.register(fs)
	maxWait := fs.Duration("max-wait", 0, "cap every wait and call deadline at this duration (for demos; 0 keeps the journey's)")
	wait := fs.Bool("wait", false, "wait for the journeys to finish and print what each customer received")
	reentry := fs.Bool("reentry", false, "start again for customers who already went through this journey")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("%w: --journey is required", ErrUsage)
	}
	if err := who.check(); err != nil {
		return err
	}
	def, err := loadJourney(a, *name)
	if err != nil {
		return err
	}
	if err := def.Validate(); err != nil {
		return fmt.Errorf("journey %s is not valid:\n%w", def.Name, err)
	}
	callPolicy, err := calltask.ParsePolicy(a.Config.HumanCallRoutes)
	if err != nil {
		return fmt.Errorf("OUTREACH_HUMAN_CALL_ROUTES: %w", err)
	}

	if *maxWait < 0 {
		return fmt.Errorf("%w: --max-wait must not be negative", ErrUsage)
	}
	pool, err := a.DB(ctx)
	if err != nil {
		return err
	}
	aud, err := who.resolve(ctx, a, pool)
	if err != nil {
		return err
	}
	if who.dryRun {
		printDryRun(a, fmt.Sprintf("start journey %s (version %d) for", def.Name, def.Version), aud)
		return nil
	}
	tc, err := a.Temporal()
	if err != nil {
		return err
	}
	var (
		mu   sync.Mutex
		runs = map[string]client.WorkflowRun{}
	)
	starter := bulk.JourneyStarter{
		Client: tc, Journey: def.Name, Reentry: *reentry, Memo: workflows.StartMemo(def),
		Input: func(id string) workflows.JourneyInput {
			return workflows.JourneyInput{CustomerID: id, Journey: def, MaxWait: *maxWait, CallPolicy: callPolicy}
		},
		OnRun: func(id string, run client.WorkflowRun) {
			mu.Lock()
			runs[id] = run
			mu.Unlock()
		},
	}
	res := bulk.Run(ctx, aud.IDs, bulk.Options{Parallel: who.parallel, Progress: progressFor(a, "starting", len(aud.IDs))}, starter.Start)
	printFailures(a, res, "started")
	fmt.Fprintf(a.Out, "journey %s (version %d) for %s: %s\n", def.Name, def.Version, aud.Source,
		res.Summary("started", "already there"))
	if res.Skipped > 0 && !*reentry {
		fmt.Fprintf(a.Err, "%d customers already have journey %s (running or finished); --reentry starts it again once it has ended\n",
			res.Skipped, def.Name)
	}
	refused := res.Failed()
	if res.Interrupted {
		return fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	outcomes := make([]startOutcome, 0, len(runs))
	for _, id := range aud.IDs {
		if run, ok := runs[id]; ok {
			outcomes = append(outcomes, startOutcome{customerID: id, workflowID: run.GetID(), run: run})
		}
	}
	if !*wait || len(outcomes) == 0 {
		if refused > 0 {
			return fmt.Errorf("%w: %d not started", ErrJourneysFailed, refused)
		}
		return nil
	}
	return waitAndReport(ctx, a, outcomes, refused)
}

func waitAndReport(ctx context.Context, a *App, outcomes []startOutcome, refused int) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, startParallelism)
	for i := range outcomes {
		if outcomes[i].err != nil {
			continue
		}
		wg.Add(1)
		go func(o *startOutcome) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			o.err = o.run.Get(ctx, &o.result)
		}(&outcomes[i])
	}
	wg.Wait()

	pool, err := a.DB(ctx)
	if err != nil {
		return err
	}
	completed, failed, sent, blocked := 0, refused, 0, 0
	for _, o := range outcomes {
		if o.run == nil {
			continue
		}
		if o.err != nil {
			failed++
			fmt.Fprintf(a.Out, "%s  journey failed: %v\n", o.customerID, o.err)
			continue
		}
		completed++
		sent += o.result.Count(ledger.Sent)
		blocked += o.result.Count(ledger.Blocked)
		if err := printReceived(ctx, a, pool, o); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.Out, "journeys=%d completed=%d failed=%d touches_sent=%d touches_blocked=%d\n",
		len(outcomes), completed, failed, sent, blocked)
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d", ErrJourneysFailed, failed, len(outcomes))
	}
	return nil
}

func printReceived(ctx context.Context, a *App, db interface {
	sandbox.Querier
}, o startOutcome) error {
	recs, err := sandbox.ForCustomer(ctx, db, o.customerID)
	if err != nil {
		return err
	}
	byTouch := make(map[int64]sandbox.Record, len(recs))
	for _, r := range recs {
		byTouch[r.TouchID] = r
	}
	fmt.Fprintf(a.Out, "%s\n", o.customerID)
	for _, s := range o.result.Steps {
		if s.Variant != "" {
			fmt.Fprintf(a.Out, "  variant  %s (split %s)\n", s.Variant, s.StepID)
		}
		if s.Channel == "" {
			continue
		}
		if s.Kind == string(journey.StepHumanCall) {
			fmt.Fprintf(a.Out, "  call     needed, no one called yet (%s); went on to %s\n", s.Reason, s.Next)
			continue
		}
		switch s.Status {
		case ledger.Sent:
			r := byTouch[s.TouchID]
			what := r.Subject
			if what == "" {
				what = firstLine(r.Body)
			}
			if s.Reason != "" {
				what += " (changed by " + s.Reason + ")"
			}
			fmt.Fprintf(a.Out, "  sent     %-5s to %s: %s\n", r.Channel, r.Recipient, what)
		default:
			fmt.Fprintf(a.Out, "  %-8s %-5s (%s)\n", s.Status, s.Channel, s.Reason)
		}
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(s); len(r) > 72 {
		s = string(r[:69]) + "..."
	}
	return s
}

func cmdStatus(ctx context.Context, a *App, args []string) error {
	fs := flags(a, "status")
	name := fs.String("journey", "", "journey name or file (required)")
	customerID := fs.String("customer", "", "customer id (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *customerID == "" {
		return fmt.Errorf("%w: --journey and --customer are required", ErrUsage)
	}
	tc, err := a.Temporal()
	if err != nil {
		return err
	}
	id := workflows.WorkflowID(journeyName(*name), *customerID)
	desc, err := tc.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return fmt.Errorf("customer %s has no journey %q", *customerID, *name)
		}
		return err
	}
	var state workflows.JourneyState
	q, err := tc.QueryWorkflow(ctx, id, "", workflows.QueryState)
	if err == nil {
		err = q.Get(&state)
	}
	if err != nil {
		return fmt.Errorf("query %s: %w", id, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	status := strings.ToLower(strings.TrimPrefix(info.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))
	if *asJSON {
		return json.NewEncoder(a.Out).Encode(struct {
			WorkflowID string                 `json:"workflow_id"`
			Status     string                 `json:"status"`
			State      workflows.JourneyState `json:"state"`
		}{id, status, state})
	}
	printState(a, id, status, state)
	return nil
}

func cmdLedger(ctx context.Context, a *App, args []string) error {
	customerID, asJSON, err := customerFlags(a, "ledger", args)
	if err != nil {
		return err
	}
	pool, err := a.DB(ctx)
	if err != nil {
		return err
	}
	touches, err := ledger.ForCustomer(ctx, pool, customerID)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(a, touches)
	}
	if len(touches) == 0 {
		fmt.Fprintf(a.Out, "no touches for customer %s\n", customerID)
	}
	for _, t := range touches {
		fmt.Fprintf(a.Out, "%s  %-8s %-5s %-13s %s/%s %s\n", t.CreatedAt.Format(time.RFC3339), t.Status, t.Channel,
			t.Intent, t.Journey, t.StepID, t.Reason)
	}
	return nil
}
