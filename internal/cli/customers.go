package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/outreach-engine/outreach/internal/customer"
)

// ErrRejected means some input lines were rejected; the good ones were kept.
var ErrRejected = errors.New("some lines were rejected")

func cmdImport(ctx context.Context, a *App, args []string) error {
	fs := flags(a, "customers import")
	file := fs.String("file", "", "JSON-lines file, one customer per line (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return fmt.Errorf("%w: --file is required", ErrUsage)
	}
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f.Close()
	good, bad, err := customer.ParseJSONL(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", *file, err)
	}
	pool, err := a.DB(ctx)
	if err != nil {
		return err
	}
	imported := 0
	for _, c := range good {
		if err := customer.Upsert(ctx, pool, c); err != nil {
			return fmt.Errorf("%s: customer %s: %w (%d imported before it)", *file, c.ID, err, imported)
		}
		imported++
	}
	for _, le := range bad {
		fmt.Fprintf(a.Err, "%s: %v\n", *file, le)
	}
	fmt.Fprintf(a.Out, "imported %d customers, rejected %d lines\n", imported, len(bad))
	if len(bad) > 0 {
		return fmt.Errorf("%w: %d of %d", ErrRejected, len(bad), len(bad)+imported)
	}
	return nil
}
