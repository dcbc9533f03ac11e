package bulk

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress shows how far a run is: on a terminal a bar redrawn in place, with
// rate and ETA; elsewhere (a log file, CI) a plain line every few seconds.
// It is safe for concurrent use.
type Progress struct {
	w     io.Writer
	tty   bool
	label string
	// Every is how often the display is refreshed.
	Every time.Duration
	now   func() time.Time

	mu                    sync.Mutex
	total                 int
	done, skipped, failed int
	start                 time.Time
	stop                  chan struct{}
	ticker                sync.WaitGroup
	lastWidth             int
}

// NewProgress returns a display on w. tty selects the redrawn bar; label
// names the work, e.g. "starting".
func NewProgress(w io.Writer, tty bool, label string) *Progress {
	every := 5 * time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	return &Progress{w: w, tty: tty, label: label, Every: every, now: time.Now}
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Begin starts the display for total operations.
func (p *Progress) Begin(total int) {
	p.mu.Lock()
	p.total, p.start = total, p.now()
	p.stop = make(chan struct{})
	p.mu.Unlock()
	p.ticker.Add(1)
	go func() {
		defer p.ticker.Done()
		t := time.NewTicker(p.Every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.render(false)
			}
		}
	}()
}

// Add records one finished operation.
func (p *Progress) Add(o Outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch o {
	case Done:
		p.done++
	case Skipped:
		p.skipped++
	default:
		p.failed++
	}
}

// End stops the display after drawing it one last time.
func (p *Progress) End() {
	close(p.stop)
	p.ticker.Wait()
	p.render(true)
}

func (p *Progress) render(final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := p.line(p.now())
	if !p.tty {
		if !final {
			fmt.Fprintln(p.w, line)
		}
		return
	}
	pad := ""
	if n := p.lastWidth - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.lastWidth = len(line)
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r%s%s%s", line, pad, end)
}

// line renders the current state; p.mu must be held.
func (p *Progress) line(now time.Time) string {
	finished := p.done + p.skipped + p.failed
	elapsed := now.Sub(p.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(finished) / elapsed.Seconds()
	}
	eta := "?"
	if rate > 0 {
		eta = formatETA(time.Duration(float64(p.total-finished) / rate * float64(time.Second)))
	}
	pct := 100
	if p.total > 0 {
		pct = finished * 100 / p.total
	}
	counts := fmt.Sprintf("%s/%s %3d%%  %s/s  ETA %s  already %s  failed %s",
		thousands(finished), thousands(p.total), pct, thousands(int(rate+0.5)), eta,
		thousands(p.skipped), thousands(p.failed))
	if !p.tty {
		return p.label + ": " + counts
	}
	const width = 24
	filled := width
	if p.total > 0 {
		filled = finished * width / p.total
	}
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	return fmt.Sprintf("%s [%s] %s", p.label, bar, counts)
}

func formatETA(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Minute {
		return d.String()
	}
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%dh%02dm", h, m)
	}
	return fmt.Sprintf("%dm%02ds", m, s)
}
