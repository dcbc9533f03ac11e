package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/outreach-engine/outreach/internal/bulk"
)

// ErrNotConfirmed means a bulk cancel was not confirmed.
var ErrNotConfirmed = errors.New("not confirmed")

// The confirmation prompt reads from these; tests replace them.
var (
	confirmInput    io.Reader = os.Stdin
	inputIsTerminal           = func() bool { return bulk.IsTerminal(os.Stdin) }
)

func cmdCancel(ctx context.Context, a *App, args []string) error {
	fs := flags(a, "cancel")
	name := fs.String("journey", "", "journey name (required)")
	yes := fs.Bool("yes", false, "cancel without asking (required for more than one customer when stdin is not a terminal)")
	var who audienceFlags
	who.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("%w: --journey is required", ErrUsage)
	}
	if err := who.check(); err != nil {
		return err
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
		printDryRun(a, "cancel journey "+*name+" for", aud)
		return nil
	}
	if who.bulkAudience() && !*yes {
		if err := confirm(a, fmt.Sprintf("cancel journey %s for %d customers (%s)?", *name, len(aud.IDs), aud.Source)); err != nil {
			return err
		}
	}
	tc, err := a.Temporal()
	if err != nil {
		return err
	}
	canceller := bulk.JourneyCanceller{Client: tc, Journey: *name}
	res := bulk.Run(ctx, aud.IDs, bulk.Options{Parallel: who.parallel, Progress: progressFor(a, "cancelling", len(aud.IDs))}, canceller.Cancel)
	printFailures(a, res, "cancelled")
	fmt.Fprintf(a.Out, "journey %s for %s: %s\n", *name, aud.Source, res.Summary("cancelled", "not running"))
	if res.Interrupted {
		return fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	if res.Failed() > 0 {
		return fmt.Errorf("%w: %d not cancelled", ErrJourneysFailed, res.Failed())
	}
	return nil
}

// confirm asks a yes/no question on a terminal; without one it refuses,
// because a bulk cancel must never happen by accident in a script.
func confirm(a *App, question string) error {
	if !inputIsTerminal() {
		return fmt.Errorf("%w: %s stdin is not a terminal: add --yes to confirm", ErrUsage, question)
	}
	fmt.Fprintf(a.Err, "%s [y/N] ", question)
	line, err := bufio.NewReader(confirmInput).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return fmt.Errorf("%w: nothing was cancelled", ErrNotConfirmed)
}
