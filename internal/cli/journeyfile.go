package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/workflows"
)

// ErrInvalid means a journey file has problems; they were printed.
var ErrInvalid = errors.New("journey files are not valid")

// loadJourney resolves --journey: a path to an existing file is parsed and
// validated; anything else is a built-in journey's name.
func loadJourney(a *App, name string) (journey.Definition, error) {
	if info, err := os.Stat(name); err == nil && !info.IsDir() {
		def, err := journey.ParseFile(name)
		var ps journey.Problems
		if errors.As(err, &ps) {
			fmt.Fprint(a.Err, ps.Format(name))
			return def, fmt.Errorf("%w: %s has %d problems", ErrInvalid, name, len(ps))
		}
		return def, err
	}
	def, ok := journey.Builtin(name)
	if !ok {
		return def, fmt.Errorf("%w: %q is neither a journey file nor a built-in journey (built-in: %s)", ErrUsage, name, strings.Join(journey.BuiltinNames(), ", "))
	}
	return def, nil
}

// journeyName resolves --journey for commands that only need the name: a
// journey file gives its name, anything else is taken as the name itself.
func journeyName(name string) string {
	if info, err := os.Stat(name); err == nil && !info.IsDir() {
		if def, err := journey.ParseFile(name); err == nil {
			return def.Name
		}
	}
	return name
}

func cmdJourneyValidate(_ context.Context, a *App, args []string) error {
	fs := flags(a, "journey validate")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: journey validate FILE...", ErrUsage)
	}
	bad := 0
	for _, file := range fs.Args() {
		def, err := journey.ParseFile(file)
		var ps journey.Problems
		switch {
		case errors.As(err, &ps):
			bad++
			fmt.Fprint(a.Out, ps.Format(file))
		case err != nil:
			bad++
			fmt.Fprintf(a.Out, "%s: %v\n", file, err)
		default:
			fmt.Fprintf(a.Err, "%s: ok (journey %s version %d, %d steps)\n", file, def.Name, def.Version, len(def.Steps))
		}
	}
	if bad > 0 {
		return fmt.Errorf("%w: %d of %d", ErrInvalid, bad, fs.NArg())
	}
	return nil
}

func cmdEvent(ctx context.Context, a *App, args []string) error {
	fs := flags(a, "event")
	name := fs.String("journey", "", "journey name or file (required)")
	customerID := fs.String("customer", "", "customer id (required)")
	kind := fs.String("kind", "", "event: opened, clicked, replied, purchased, call_completed, delivered, unsubscribed, bounced (required)")
	detail := fs.String("detail", "", "short non-personal qualifier, e.g. a call outcome")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *customerID == "" || *kind == "" {
		return fmt.Errorf("%w: --journey, --customer and --kind are required", ErrUsage)
	}
	if !workflows.EventKind(*kind).Valid() {
		return fmt.Errorf("%w: unknown event kind %q", ErrUsage, *kind)
	}
	tc, err := a.Temporal()
	if err != nil {
		return err
	}
	id := workflows.WorkflowID(journeyName(*name), *customerID)
	if err := tc.SignalWorkflow(ctx, id, "", workflows.SignalEvent, workflows.Event{
		Kind: workflows.EventKind(*kind), Detail: *detail,
	}); err != nil {
		return fmt.Errorf("send %s to %s: %w", *kind, id, err)
	}
	fmt.Fprintf(a.Out, "sent %s to %s\n", *kind, id)
	return nil
}

// printState prints a journey's state query: where it is, what it waits
// for, and what each step did.
func printState(a *App, id, status string, state workflows.JourneyState) {
	fmt.Fprintf(a.Out, "%s  %s  journey %s v%d", id, status, state.Journey, state.Version)
	if state.CurrentStep != "" {
		fmt.Fprintf(a.Out, "  at step %s", state.CurrentStep)
	}
	if state.Waiting != "" {
		fmt.Fprintf(a.Out, " (waiting %s)", state.Waiting)
	}
	if state.ExitReason != "" {
		fmt.Fprintf(a.Out, "  exited: %s", state.ExitReason)
	}
	fmt.Fprintln(a.Out)
	if shown := len(state.Steps); state.StepsTotal > shown {
		fmt.Fprintf(a.Out, "  (%d earlier steps not shown)\n", state.StepsTotal-shown)
	}
	for _, s := range state.Steps {
		line := fmt.Sprintf("  %-18s %-10s", s.StepID, s.Kind)
		if s.Channel != "" {
			line += fmt.Sprintf(" %-5s %-13s %s", s.Channel, s.Intent, s.Status)
			if s.Reason != "" {
				line += " (" + s.Reason + ")"
			}
		} else if s.Result != "" {
			line += " " + s.Result
		} else {
			line += " done"
		}
		if s.Next != "" {
			line += " -> " + s.Next
		}
		fmt.Fprintln(a.Out, line)
	}
}
