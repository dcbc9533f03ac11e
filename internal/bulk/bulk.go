// Package bulk runs one operation (start a journey, cancel a journey) for
// many customers: with bounded parallelism, a progress display with rate and
// ETA, and counts of what happened. An interrupted run stops dispatching,
// lets the calls already in flight finish, and says how many were left; the
// operations it runs are idempotent, so running it again finishes the job.
package bulk

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// DefaultParallel is how many operations run at once unless told otherwise.
const DefaultParallel = 16

// DefaultCallTimeout bounds one operation. Operations run on a context that
// is not cancelled by an interrupt (so an answer already on its way is
// counted), hence this bound.
const DefaultCallTimeout = 30 * time.Second

// Outcome is what one operation did.
type Outcome int

const (
	// Done means the operation did its work (a journey was started).
	Done Outcome = iota
	// Skipped means there was nothing to do (the journey was already there).
	Skipped
	// Failed means the operation failed; the error says why.
	Failed
)

// Func performs the operation for one id. Return Skipped for "already
// there", an error for a failure (the outcome is then ignored).
type Func func(ctx context.Context, id string) (Outcome, error)

// Failure is one id whose operation failed.
type Failure struct {
	ID  string
	Err error
}

// Result counts what a run did.
type Result struct {
	Total    int
	Done     int
	Skipped  int
	Failures []Failure
	// NotDispatched counts the ids never attempted because the run was interrupted.
	NotDispatched int
	Interrupted   bool
	Elapsed       time.Duration
}

// Failed is the number of failures.
func (r Result) Failed() int { return len(r.Failures) }

// Rate is the number of finished operations (of any outcome) per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Done+r.Skipped+r.Failed()) / r.Elapsed.Seconds()
}

// Options tune a run.
type Options struct {
	// Parallel bounds the operations in flight; DefaultParallel when 0.
	Parallel int
	// CallTimeout bounds one operation; DefaultCallTimeout when 0.
	CallTimeout time.Duration
	// Progress, when set, is told of every finished operation.
	Progress *Progress
}

// Run calls fn for every id, at most opts.Parallel at a time. When ctx is
// cancelled it stops dispatching, waits for the operations in flight (which
// run on a context that outlives the interrupt, bounded by CallTimeout) and
// returns with Interrupted set. A failing id never stops the others.
func Run(ctx context.Context, ids []string, opts Options, fn Func) Result {
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	timeout := opts.CallTimeout
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	start := time.Now()
	res := Result{Total: len(ids)}
	if opts.Progress != nil {
		opts.Progress.Begin(len(ids))
	}

	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, parallel)
	)
	callCtx := context.WithoutCancel(ctx)
	dispatched := 0
dispatch:
	for _, id := range ids {
		// Check cancellation first: a free slot must not win the race
		// against an interrupt that already happened.
		if ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
			break dispatch
		case sem <- struct{}{}:
		}
		dispatched++
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(callCtx, timeout)
			out, err := fn(cctx, id)
			cancel()
			mu.Lock()
			switch {
			case err != nil:
				res.Failures = append(res.Failures, Failure{ID: id, Err: err})
				out = Failed
			case out == Skipped:
				res.Skipped++
			default:
				out = Done
				res.Done++
			}
			mu.Unlock()
			if opts.Progress != nil {
				opts.Progress.Add(out)
			}
		}(id)
	}
	wg.Wait()
	res.NotDispatched = len(ids) - dispatched
	res.Interrupted = res.NotDispatched > 0
	res.Elapsed = time.Since(start)
	sort.Slice(res.Failures, func(i, j int) bool { return res.Failures[i].ID < res.Failures[j].ID })
	if opts.Progress != nil {
		opts.Progress.End()
	}
	return res
}

// Summary is the one-line account of a run, e.g.
// "started 9,980, already there 15, failed 5 of 10,000 in 8.2s (1,219/s)".
func (r Result) Summary(doneVerb, skippedVerb string) string {
	s := fmt.Sprintf("%s %s, %s %s, failed %s of %s in %s (%s/s)",
		doneVerb, thousands(r.Done), skippedVerb, thousands(r.Skipped), thousands(r.Failed()),
		thousands(r.Total), r.Elapsed.Round(100*time.Millisecond), thousands(int(r.Rate()+0.5)))
	if r.Interrupted {
		s += fmt.Sprintf("; interrupted: %s not attempted, run the same command again to finish", thousands(r.NotDispatched))
	}
	return s
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return neg + s
}
