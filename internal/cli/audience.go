package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/audience"
	"github.com/outreach-engine/outreach/internal/bulk"
	"github.com/outreach-engine/outreach/internal/store"
)

// audienceFlags are the ways to say who a start or cancel is for.
type audienceFlags struct {
	customer string
	all      bool
	list     string
	segment  string
	params   multiFlag
	dryRun   bool
	parallel int
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (f *audienceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.customer, "customer", "", "one customer id")
	fs.BoolVar(&f.all, "all", false, "every customer (internal, subsidiary and affiliate accounts are never included)")
	fs.StringVar(&f.list, "list", "", "file of customer ids, one per line (# starts a comment)")
	fs.StringVar(&f.segment, "segment", "", "segment file (YAML), or the name of a segment stored with `segments save`")
	fs.Var(&f.params, "param", "segment parameter name=value (repeatable), e.g. --param days=120")
	fs.BoolVar(&f.dryRun, "dry-run", false, "show how many customers and a sample, and change nothing")
	fs.IntVar(&f.parallel, "parallel", bulk.DefaultParallel, "how many requests to Temporal at once")
}

// check validates the combination: exactly one audience source.
func (f *audienceFlags) check() error {
	n := 0
	for _, set := range []bool{f.customer != "", f.all, f.list != "", f.segment != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: give exactly one of --customer ID, --all, --list FILE or --segment FILE", ErrUsage)
	}
	if len(f.params) > 0 && f.segment == "" {
		return fmt.Errorf("%w: --param applies to --segment only", ErrUsage)
	}
	if f.parallel < 1 || f.parallel > 1024 {
		return fmt.Errorf("%w: --parallel must be between 1 and 1024, got %d", ErrUsage, f.parallel)
	}
	return nil
}

// bulkAudience reports whether the audience may be more than one customer.
func (f *audienceFlags) bulkAudience() bool { return f.customer == "" }

// resolve turns the flags into the audience. Problems with list lines are
// printed; they do not stop the rest of the list.
func (f *audienceFlags) resolve(ctx context.Context, a *App, db store.DB) (audience.Audience, error) {
	var (
		aud audience.Audience
		err error
	)
	switch {
	case f.customer != "":
		aud, err = audience.One(ctx, db, f.customer)
	case f.all:
		aud, err = audience.All(ctx, db)
	case f.list != "":
		var file *os.File
		if file, err = os.Open(f.list); err != nil {
			return aud, err
		}
		defer file.Close()
		aud, err = audience.FromList(ctx, db, f.list, file)
	case f.segment != "":
		var seg audience.Segment
		if seg, err = loadSegment(ctx, db, f.segment); err != nil {
			return aud, err
		}
		params, perr := audience.ParseParams(f.params)
		if perr != nil {
			return aud, fmt.Errorf("%w: %v", ErrUsage, perr)
		}
		aud, err = audience.FromSegment(ctx, db, seg, params, time.Now())
	}
	if err != nil {
		return aud, err
	}
	for _, p := range aud.Problems {
		fmt.Fprintf(a.Err, "%s: %s\n", f.list, p)
	}
	return aud, nil
}

// loadSegment reads a segment file, or a stored segment when no such file exists.
func loadSegment(ctx context.Context, db store.DB, ref string) (audience.Segment, error) {
	src, err := os.ReadFile(ref)
	if errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(ref, "/.") {
		return audience.LoadStoredSegment(ctx, db, ref)
	}
	if err != nil {
		return audience.Segment{}, err
	}
	seg, err := audience.ParseSegment(bytes.NewReader(src))
	if err != nil {
		return seg, fmt.Errorf("%s: %w", ref, err)
	}
	return seg, nil
}

// sampleSize is how many ids a dry run shows.
const sampleSize = 10

// printDryRun shows what a bulk command would touch.
func printDryRun(a *App, what string, aud audience.Audience) {
	fmt.Fprintf(a.Out, "dry run: would %s %d customers (%s); nothing was changed\n", what, len(aud.IDs), aud.Source)
	if len(aud.Problems) > 0 {
		fmt.Fprintf(a.Out, "%d list lines left out (listed above)\n", len(aud.Problems))
	}
	if s := aud.Sample(sampleSize); len(s) > 0 {
		fmt.Fprintf(a.Out, "sample: %s\n", strings.Join(s, " "))
	}
}

// progressFor returns a progress display on the error stream for a bulk
// operation, or nil for a single customer.
func progressFor(a *App, label string, n int) *bulk.Progress {
	if n < 2 {
		return nil
	}
	return bulk.NewProgress(a.Err, bulk.IsTerminal(a.Err), label)
}

// printFailures lists each failed customer with its reason.
func printFailures(a *App, res bulk.Result, verb string) {
	for _, f := range res.Failures {
		fmt.Fprintf(a.Err, "%s: not %s: %v\n", f.ID, verb, f.Err)
	}
}
