package bulk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("c-%05d", i)
	}
	return out
}

func TestRunCountsEveryOutcomeAndAFailureDoesNotStopTheRest(t *testing.T) {
	res := Run(context.Background(), ids(100), Options{Parallel: 8}, func(_ context.Context, id string) (Outcome, error) {
		switch {
		case strings.HasSuffix(id, "7"):
			return Done, fmt.Errorf("refused %s", id)
		case strings.HasSuffix(id, "3"):
			return Skipped, nil
		}
		return Done, nil
	})
	assert.Equal(t, 100, res.Total)
	assert.Equal(t, 80, res.Done)
	assert.Equal(t, 10, res.Skipped)
	require.Equal(t, 10, res.Failed())
	assert.Equal(t, "c-00007", res.Failures[0].ID, "failures are sorted by id")
	assert.EqualError(t, res.Failures[0].Err, "refused c-00007")
	assert.False(t, res.Interrupted)
	assert.Zero(t, res.NotDispatched)
}

func TestRunNeverExceedsItsParallelism(t *testing.T) {
	var inFlight, peak atomic.Int32
	Run(context.Background(), ids(200), Options{Parallel: 5}, func(context.Context, string) (Outcome, error) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		inFlight.Add(-1)
		return Done, nil
	})
	assert.Equal(t, int32(5), peak.Load())
}

// An interrupt stops dispatching at once, and the operations in flight finish
// on a context the interrupt does not cancel, so their answers are counted.
func TestInterruptStopsDispatchingAndWaitsForInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu      sync.Mutex
		called  = map[string]bool{}
		started atomic.Int32
		release = make(chan struct{})
	)
	done := make(chan Result)
	go func() {
		done <- Run(ctx, ids(1000), Options{Parallel: 4}, func(cctx context.Context, id string) (Outcome, error) {
			mu.Lock()
			called[id] = true
			mu.Unlock()
			if started.Add(1) == 10 {
				cancel()
			}
			if started.Load() >= 10 {
				<-release
			}
			if cctx.Err() != nil {
				return Done, cctx.Err()
			}
			return Done, nil
		})
	}()
	require.Eventually(t, func() bool { return ctx.Err() != nil }, 5*time.Second, time.Millisecond)
	close(release)
	res := <-done
	assert.True(t, res.Interrupted)
	assert.Zero(t, res.Failed(), "in-flight calls are not cancelled by the interrupt")
	assert.Equal(t, len(called), res.Done, "every dispatched call is counted")
	assert.LessOrEqual(t, res.Done, 10+4, "at most one batch of in-flight calls after the interrupt")
	assert.Equal(t, 1000-res.Done, res.NotDispatched)
	assert.Contains(t, res.Summary("started", "already there"), "not attempted, run the same command again")
}

func TestCallTimeoutBoundsOneOperation(t *testing.T) {
	res := Run(context.Background(), ids(2), Options{CallTimeout: 20 * time.Millisecond}, func(ctx context.Context, _ string) (Outcome, error) {
		<-ctx.Done()
		return Done, ctx.Err()
	})
	require.Equal(t, 2, res.Failed())
	assert.True(t, errors.Is(res.Failures[0].Err, context.DeadlineExceeded))
}

func TestSummary(t *testing.T) {
	r := Result{Total: 10000, Done: 9980, Skipped: 15, Failures: make([]Failure, 5), Elapsed: 8 * time.Second}
	assert.Equal(t, "started 9,980, already there 15, failed 5 of 10,000 in 8s (1,250/s)", r.Summary("started", "already there"))
}

func TestProgressLineShowsCountsRateAndETA(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		tty  bool
		want string
	}{
		{false, "starting: 2,500/10,000  25%  500/s  ETA 15s  already 100  failed 1"},
		{true, "starting [======>                 ] 2,500/10,000  25%  500/s  ETA 15s  already 100  failed 1"},
	} {
		p := NewProgress(&bytes.Buffer{}, tc.tty, "starting")
		p.now = func() time.Time { return clock }
		p.total, p.start = 10000, clock
		p.done, p.skipped, p.failed = 2399, 100, 1
		assert.Equal(t, tc.want, p.line(clock.Add(5*time.Second)))
	}
}

func TestProgressWithoutATerminalPrintsPlainLines(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, false, "starting")
	p.Every = 5 * time.Millisecond
	Run(context.Background(), ids(50), Options{Parallel: 2, Progress: p}, func(context.Context, string) (Outcome, error) {
		time.Sleep(time.Millisecond)
		return Done, nil
	})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.NotEmpty(t, lines)
	assert.NotContains(t, out.String(), "\r", "no carriage returns in a log")
	assert.Regexp(t, `^starting: \d+/50 +\d+%  [\d,]+/s  ETA \S+  already 0  failed 0$`, lines[0])
}

func TestProgressOnATerminalRedrawsOneLine(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, true, "starting")
	Run(context.Background(), ids(3), Options{Progress: p}, func(context.Context, string) (Outcome, error) { return Done, nil })
	assert.True(t, strings.HasPrefix(out.String(), "\r"))
	assert.Equal(t, 1, strings.Count(out.String(), "\n"), "one final newline")
	assert.Contains(t, out.String(), "[========================] 3/3 100%")
}

func TestFormatETA(t *testing.T) {
	assert.Equal(t, "42s", formatETA(42*time.Second))
	assert.Equal(t, "3m05s", formatETA(185*time.Second))
	assert.Equal(t, "2h01m", formatETA(121*time.Minute))
}

func BenchmarkRunOverhead(b *testing.B) {
	list := ids(b.N)
	b.ResetTimer()
	Run(context.Background(), list, Options{Parallel: DefaultParallel}, func(context.Context, string) (Outcome, error) {
		return Done, nil
	})
}
