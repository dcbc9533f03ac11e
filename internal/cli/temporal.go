package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/visibility"
)

func cmdTemporalSetup(ctx context.Context, a *App, args []string) error {
	fs := flags(a, "temporal setup")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	if err := parse(fs, args); err != nil {
		return err
	}
	tc, err := a.Temporal()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	added, err := visibility.Register(ctx, tc, a.Config.TemporalNamespace)
	if err != nil {
		return err
	}
	if len(added) == 0 {
		fmt.Fprintf(a.Out, "search attributes of namespace %s are up to date\n", a.Config.TemporalNamespace)
		return nil
	}
	fmt.Fprintf(a.Out, "registered search attributes on namespace %s: %s\n", a.Config.TemporalNamespace, strings.Join(added, ", "))
	return nil
}
