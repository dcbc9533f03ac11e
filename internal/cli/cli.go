// Package cli implements the starter: the command marketers use to load
// customers, start journeys and see what happened.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/outreach-engine/outreach/internal/config"
	"github.com/outreach-engine/outreach/internal/store"
)

// ErrUsage marks a command line that could not be understood; the exit status is 2.
var ErrUsage = errors.New("usage")

// App holds what every command may need. Connections are opened lazily, so
// `starter --help` or `journey validate` need neither Postgres nor Temporal.
type App struct {
	Config config.Config
	Out    io.Writer
	Err    io.Writer
	Logger *slog.Logger

	pool     *pgxpool.Pool
	temporal client.Client
}

// Close releases any connection opened by a command.
func (a *App) Close() {
	if a.pool != nil {
		a.pool.Close()
	}
	if a.temporal != nil {
		a.temporal.Close()
	}
}

// DB opens (once) the Postgres pool.
func (a *App) DB(ctx context.Context) (*pgxpool.Pool, error) {
	if a.pool == nil {
		p, err := store.Open(ctx, a.Config.DatabaseURL)
		if err != nil {
			return nil, err
		}
		a.pool = p
	}
	return a.pool, nil
}

// Temporal dials (once) the Temporal client.
func (a *App) Temporal() (client.Client, error) {
	if a.temporal == nil {
		c, err := a.Config.Dial(a.Logger)
		if err != nil {
			return nil, err
		}
		a.temporal = c
	}
	return a.temporal, nil
}

type command struct {
	path  string // e.g. "customers import"
	short string
	run   func(ctx context.Context, a *App, args []string) error
}

func commands() []command {
	return []command{
		{"db migrate", "apply the embedded database migrations", cmdMigrate},
		{"temporal setup", "register the journeys' search attributes on the namespace", cmdTemporalSetup},
		{"customers import", "import customers from a JSON-lines file", cmdImport},
		{"start", "start a journey for a customer, a list, a segment or everyone", cmdStart},
		{"status", "show where one customer's journey is", cmdStatus},
		{"ledger", "list a customer's touches from the contact ledger", cmdLedger},
		{"journey validate", "check journey files; prints FILE:LINE: problem for each problem", cmdJourneyValidate},
		{"event", "send a customer event (opened, purchased, ...) to a running journey", cmdEvent},
		{"preview", "dry run: what a journey would send, block or change, and why", cmdPreview},
		{"why", "say why each touch of a customer was sent, changed or blocked", cmdWhy},
		{"tasks", "work human-call tasks: tasks list, tasks claim, tasks complete", cmdTasks},
		{"cancel", "cancel a journey for one customer, a list, a segment or everyone", cmdCancel},
		{"report", "a journey's funnel per step and its variants side by side", cmdReport},
		{"segments save", "store a segment file in the database under its name", cmdSegmentSave},
	}
}

// Run dispatches args (without the program name) to a command.
func Run(ctx context.Context, a *App, args []string) error {
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return len(cmds[i].path) > len(cmds[j].path) })
	joined := strings.Join(args, " ")
	for _, c := range cmds {
		if joined == c.path || strings.HasPrefix(joined, c.path+" ") {
			return c.run(ctx, a, args[len(strings.Fields(c.path)):])
		}
	}
	usage(a.Err)
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return nil
	}
	return fmt.Errorf("%w: unknown command %q", ErrUsage, joined)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: starter COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-18s %s\n", c.path, c.short)
	}
	fmt.Fprintln(w, "\nRun 'starter COMMAND -h' for a command's flags. Configuration comes from the environment (see README).")
}

// flags returns a FlagSet that reports errors instead of exiting.
func flags(a *App, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("starter "+name, flag.ContinueOnError)
	fs.SetOutput(a.Err)
	return fs
}

// parse parses args and turns flag errors into ErrUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	return nil
}

func cmdMigrate(ctx context.Context, a *App, args []string) error {
	if err := parse(flags(a, "db migrate"), args); err != nil {
		return err
	}
	pool, err := a.DB(ctx)
	if err != nil {
		return err
	}
	applied, err := store.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(a.Out, "schema is up to date")
	}
	for _, m := range applied {
		fmt.Fprintln(a.Out, "applied", m)
	}
	return nil
}

// customerFlags parses the flags of the commands that show one customer's
// touches: --customer ID (required) and --json.
func customerFlags(a *App, name string, args []string) (customerID string, asJSON bool, err error) {
	fs := flags(a, name)
	id := fs.String("customer", "", "customer id (required)")
	js := fs.Bool("json", false, "print one JSON array")
	if err := parse(fs, args); err != nil {
		return "", false, err
	}
	if *id == "" {
		return "", false, fmt.Errorf("%w: --customer is required", ErrUsage)
	}
	return *id, *js, nil
}

// printJSON writes v as indented JSON.
func printJSON(a *App, v any) error {
	enc := json.NewEncoder(a.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
