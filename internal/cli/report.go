package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/outreach-engine/outreach/internal/audience"
	"github.com/outreach-engine/outreach/internal/report"
)

func cmdReport(ctx context.Context, a *App, args []string) error {
	fs := flags(a, "report")
	name := fs.String("journey", "", "journey name (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	csvFile := fs.String("csv", "", "also write the funnel and variants to this CSV file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("%w: --journey is required", ErrUsage)
	}
	pool, err := a.DB(ctx)
	if err != nil {
		return err
	}
	r, err := report.Load(ctx, pool, *name)
	if err != nil {
		return err
	}
	if *csvFile != "" {
		f, err := os.Create(*csvFile)
		if err != nil {
			return err
		}
		if err := report.WriteCSV(f, r); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", *csvFile, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", *csvFile, err)
		}
	}
	if *asJSON {
		return printJSON(a, r)
	}
	return report.WriteText(a.Out, r)
}

func cmdSegmentSave(ctx context.Context, a *App, args []string) error {
	fs := flags(a, "segments save")
	file := fs.String("file", "", "segment file (YAML) to store under its name (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return fmt.Errorf("%w: --file is required", ErrUsage)
	}
	src, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	pool, err := a.DB(ctx)
	if err != nil {
		return err
	}
	seg, err := audience.SaveSegment(ctx, pool, src)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	fmt.Fprintf(a.Out, "stored segment %s: use --segment %s\n", seg.Name, seg.Name)
	return nil
}
