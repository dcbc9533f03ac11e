package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/outreach-engine/outreach/internal/calltask"
	"github.com/outreach-engine/outreach/workflows"
)

// cmdTasks is `starter tasks list | claim | complete`: the call desk's work
// from a script. Completing a task records the outcome in Postgres and tells
// the task's CallTask workflow, exactly as the desk does.
func cmdTasks(ctx context.Context, a *App, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: tasks needs a subcommand: list, claim or complete", ErrUsage)
	}
	switch args[0] {
	case "list":
		return cmdTasksList(ctx, a, args[1:])
	case "claim":
		return cmdTasksClaim(ctx, a, args[1:])
	case "complete":
		return cmdTasksComplete(ctx, a, args[1:])
	}
	return fmt.Errorf("%w: unknown tasks subcommand %q (want list, claim or complete)", ErrUsage, args[0])
}

func cmdTasksList(ctx context.Context, a *App, args []string) error {
	fs := flags(a, "tasks list")
	status := fs.String("status", "open,claimed", "comma-separated statuses to show (open, claimed, completed, expired) or all")
	if err := parse(fs, args); err != nil {
		return err
	}
	var statuses []calltask.Status
	if *status != "all" {
		for _, s := range strings.Split(*status, ",") {
			st := calltask.Status(strings.TrimSpace(s))
			switch st {
			case calltask.StatusOpen, calltask.StatusClaimed, calltask.StatusCompleted, calltask.StatusExpired:
				statuses = append(statuses, st)
			default:
				return fmt.Errorf("%w: unknown task status %q (want open, claimed, completed, expired or all)", ErrUsage, s)
			}
		}
	}
	pool, err := a.DB(ctx)
	if err != nil {
		return err
	}
	tasks, err := calltask.List(ctx, pool, statuses...)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(a.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tDUE\tSTATUS\tAGENT\tOUTCOME\tCUSTOMER\tJOURNEY/STEP\tREASON")
	for _, t := range tasks {
		agent := t.ClaimedBy
		if t.CompletedBy != "" {
			agent = t.CompletedBy
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s/%s\t%s\n", t.ID, t.DueAt.UTC().Format(time.RFC3339), t.Status,
			dash(agent), dash(string(t.Outcome)), t.CustomerID, t.Journey, t.StepID, t.Reason)
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdTasksClaim(ctx context.Context, a *App, args []string) error {
	fs := flags(a, "tasks claim")
	id := fs.Int64("id", 0, "task id (required)")
	agent := fs.String("agent", "", "agent name (required)")
	lease := fs.Duration("lease", 15*time.Minute, "how long the claim holds before another agent may take the task")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *id <= 0 || *agent == "" || *lease <= 0 {
		return fmt.Errorf("%w: --id, --agent and a positive --lease are required", ErrUsage)
	}
	pool, err := a.DB(ctx)
	if err != nil {
		return err
	}
	t, err := calltask.Claim(ctx, pool, *id, *agent, *lease)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "task %d claimed by %s until %s\n", t.ID, t.ClaimedBy, t.LeaseUntil.UTC().Format(time.RFC3339))
	return nil
}

func cmdTasksComplete(ctx context.Context, a *App, args []string) error {
	fs := flags(a, "tasks complete")
	id := fs.Int64("id", 0, "task id (required)")
	agent := fs.String("agent", "", "agent name; must hold the task (required)")
	outcome := fs.String("outcome", "", "reached, voicemail, no_answer, wrong_number or do_not_call (required)")
	notes := fs.String("notes", "", "what the agent wants the next person to know")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *id <= 0 || *agent == "" {
		return fmt.Errorf("%w: --id and --agent are required", ErrUsage)
	}
	o, err := calltask.ParseOutcome(*outcome)
	if err != nil {
		return fmt.Errorf("%w: --outcome: %v", ErrUsage, err)
	}
	pool, err := a.DB(ctx)
	if err != nil {
		return err
	}
	t, err := calltask.Complete(ctx, pool, *id, *agent, o, *notes)
	if err != nil {
		return err
	}
	tc, err := a.Temporal()
	if err != nil {
		return err
	}
	res, err := workflows.SendCallOutcome(ctx, tc, t.WorkflowID, workflows.CallOutcome{TaskID: t.ID, Outcome: o})
	if err != nil {
		return errors.Join(fmt.Errorf("task %d: outcome saved; run the same command again to tell the journey", t.ID), err)
	}
	fmt.Fprintf(a.Out, "task %d completed: %s (ledger touch %d)\n", t.ID, res.Outcome, res.TouchID)
	return nil
}
