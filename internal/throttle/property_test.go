package throttle

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
)

// brokenNaive is an independent, deliberately plain statement of the rules:
// does a touch at t break any rule the policy holds this request to?
func brokenNaive(p *Policy, hist []Past, req Request, t time.Time) bool {
	skip := map[string]bool{}
	for _, r := range p.Intents[req.Intent].Exempt {
		skip[r] = true
	}
	for _, w := range req.Waiting {
		if rank[w.Intent] < rank[req.Intent] && !w.At.After(t) && t.Sub(w.At) < time.Minute {
			return true
		}
	}
	lt := t.In(req.Loc)
	if q, ok := p.QuietHours[req.Channel]; ok && !skip["quiet_hours."+string(req.Channel)] {
		m := lt.Hour()*60 + lt.Minute()
		s, e := int(q.Start), int(q.End)
		if (s < e && m >= s && m < e) || (s > e && (m >= s || m < e)) {
			return true
		}
	}
	if !skip["min_gap"] {
		for _, h := range hist {
			if d := t.Sub(h.At).Abs(); d < time.Duration(p.MinGap) {
				return true
			}
		}
	}
	for _, c := range p.Caps {
		if skip["cap."+c.ID] || !matches(c, req.Channel, req.Intent) {
			continue
		}
		n := 0
		for _, h := range hist {
			if !matches(c, h.Channel, h.Intent) {
				continue
			}
			if c.Per == PerLocalDay {
				if h.At.In(req.Loc).Format("2006-01-02") == lt.Format("2006-01-02") {
					n++
				}
			} else if h.At.After(t.Add(-time.Duration(c.Window))) {
				n++
			}
		}
		if n >= c.Max {
			return true
		}
	}
	return false
}

var rank = map[channel.Intent]int{channel.Transactional: 0, channel.Caring: 1, channel.Promotional: 2}

func matches(c Cap, ch channel.Name, in channel.Intent) bool {
	okCh := len(c.Channels) == 0
	for _, x := range c.Channels {
		okCh = okCh || x == ch
	}
	okIn := len(c.Intents) == 0
	for _, x := range c.Intents {
		okIn = okIn || x == in
	}
	return okCh && okIn
}

var zones = []string{
	"UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
	"America/Santiago", "Pacific/Chatham", "America/St_Johns", "Asia/Tehran",
}

var intents = []channel.Intent{channel.Transactional, channel.Caring, channel.Promotional}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.Intn(len(xs))] }

// randomPolicy writes a policy document, so the parser is exercised too.
func randomPolicy(r *rand.Rand) string {
	var b strings.Builder
	fmt.Fprintf(&b, "min_gap: %dm\ncaps:\n", pick(r, []int{0, 0, 30, 90, 240}))
	var ids []string
	for i := range r.Intn(4) {
		id := fmt.Sprintf("c%d", i)
		ids = append(ids, "cap."+id)
		fmt.Fprintf(&b, "  - id: %s\n    max: %d\n", id, 1+r.Intn(3))
		if r.Intn(3) == 0 {
			b.WriteString("    per: local_day\n")
		} else {
			fmt.Fprintf(&b, "    window: %dh\n", pick(r, []int{1, 5, 24, 72, 168}))
		}
		if r.Intn(3) == 0 {
			fmt.Fprintf(&b, "    channels: [%s]\n", pick(r, channel.All))
		}
		if r.Intn(3) == 0 {
			fmt.Fprintf(&b, "    intents: [%s]\n", pick(r, intents))
		}
	}
	b.WriteString("quiet_hours:\n")
	for _, ch := range channel.All {
		if r.Intn(3) == 0 {
			continue
		}
		s, e := r.Intn(24*4)*15, r.Intn(24*4)*15
		if s == e {
			e = (s + 60) % (24 * 60)
		}
		fmt.Fprintf(&b, "  %s: {start: %q, end: %q}\n", ch, Clock(s), Clock(e))
		ids = append(ids, "quiet_hours."+string(ch))
	}
	ids = append(ids, "min_gap")
	b.WriteString("intents:\n")
	for _, in := range intents {
		var ex []string
		for _, id := range ids {
			if r.Intn(4) == 0 {
				ex = append(ex, id)
			}
		}
		fmt.Fprintf(&b, "  %s: {exempt: [%s]}\n", in, strings.Join(ex, ", "))
	}
	return b.String()
}

type ask struct {
	Request
	first time.Time
}

// TestDecisionsNeverBreakARule runs random schedules of touches under random
// policies and zones, across daylight-saving changes, re-asking every
// deferred touch at its deferral time as the journey would. No allowed touch
// breaks a rule; every deferral is allowed when it comes due (unless another
// touch took the slot meanwhile) and is no later than needed: one minute
// before it, and at random moments between the request and it, some rule is
// still broken.
func TestDecisionsNeverBreakARule(t *testing.T) {
	held := 0 // deferrals by the priority rule
	starts := []string{"2026-03-07 12:00", "2026-03-28 12:00", "2026-09-04 12:00", "2026-10-24 12:00", "2026-06-01 00:00"}
	for seed := int64(1); seed <= 400; seed++ {
		r := rand.New(rand.NewSource(seed))
		doc := randomPolicy(r)
		p, err := Parse([]byte(doc))
		require.NoError(t, err, doc)
		loc := zone(t, pick(r, zones))
		start := at(t, loc, pick(r, starts))

		var queue []ask
		tm := start
		for range 40 {
			tm = tm.Add(time.Duration(r.Intn(6*60)) * time.Minute)
			req := Request{At: tm, Channel: pick(r, channel.All), Intent: pick(r, intents), Loc: loc}
			if r.Intn(3) == 0 {
				req.Deadline = tm.Add(time.Duration(r.Intn(72)) * time.Hour)
			}
			queue = append(queue, ask{req, tm})
		}
		var hist []Past
		for steps := 0; len(queue) > 0; steps++ {
			require.Less(t, steps, 10000, "seed %d: decisions do not settle", seed)
			sort.SliceStable(queue, func(i, j int) bool { return queue[i].At.Before(queue[j].At) })
			q := queue[0]
			queue = queue[1:]
			// The touches already deferred are the ones waiting.
			q.Waiting = nil
			for _, w := range queue {
				if w.At.After(w.first) {
					q.Waiting = append(q.Waiting, Past{At: w.At, Channel: w.Channel, Intent: w.Intent})
				}
			}
			d := p.Decide(hist, q.Request)
			where := fmt.Sprintf("seed %d, zone %s, %s %s at %s: %s %s\nhistory: %v\npolicy:\n%s",
				seed, loc, q.Intent, q.Channel, q.At.In(loc).Format(time.RFC3339), d.Outcome, d.Reason, hist, doc)
			switch d.Outcome {
			case Allowed:
				require.False(t, brokenNaive(p, hist, q.Request, q.At), where)
				hist = append(hist, Past{At: q.At, Channel: q.Channel, Intent: q.Intent})
				continue
			case Deferred:
				require.True(t, d.NotBefore.After(q.At), where)
				require.True(t, q.Deadline.IsZero() || !d.NotBefore.After(q.Deadline), where)
				require.False(t, brokenNaive(p, hist, q.Request, d.NotBefore), "not allowed at the deferral time: "+where)
			case Expired:
				require.False(t, q.Deadline.IsZero(), where)
				require.True(t, d.NotBefore.After(q.Deadline), where)
			}
			require.NotEmpty(t, d.Rule, where)
			if d.Rule == "throttle.priority" {
				held++
			}
			require.True(t, brokenNaive(p, hist, q.Request, q.At), "deferred though allowed now: "+where)
			end := d.NotBefore
			if d.Outcome == Expired {
				end = q.Deadline.Add(time.Minute)
			}
			if before := end.Add(-time.Minute); before.After(q.At) {
				require.True(t, brokenNaive(p, hist, q.Request, before), "allowed a minute earlier: "+where)
			}
			for range 5 {
				probe := q.At.Add(time.Duration(r.Int63n(int64(end.Sub(q.At)))))
				require.True(t, brokenNaive(p, hist, q.Request, probe),
					"allowed earlier, at %s: %s", probe.In(loc).Format(time.RFC3339), where)
			}
			if d.Outcome == Deferred {
				q.At = d.NotBefore
				queue = append(queue, q)
			}
		}
	}
	require.Positive(t, held, "the schedules exercise the priority rule")
}
