package throttle

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/channel"
)

// Past is a touch that counts against the caps: reserved, sending or sent.
type Past struct {
	At      time.Time
	Channel channel.Name
	Intent  channel.Intent
}

// Request is a touch that wants to go out at At.
type Request struct {
	At      time.Time
	Channel channel.Name
	Intent  channel.Intent
	// Loc is the customer's time zone (see Policy.Location).
	Loc *time.Location
	// Deadline is the latest moment the touch is still worth sending; zero
	// means it never goes stale.
	Deadline time.Time
	// Waiting are the customer's other deferred touches, At being the
	// moment each may ask again. A touch of higher priority that is due
	// goes first (see PriorityGrace).
	Waiting []Past
}

// PriorityGrace is how long a due touch of higher priority holds back the
// touches of lower priority: transactional before caring before
// promotional. When several touches wait for the same moment (the end of
// the quiet hours, a cap's window) the most important asks first; one that
// has not asked within the grace (its journey ended) holds nothing back.
const PriorityGrace = time.Minute

// Rank orders intents: transactional 0, caring 1, promotional 2.
func Rank(in channel.Intent) int {
	switch in {
	case channel.Transactional:
		return 0
	case channel.Caring:
		return 1
	}
	return 2
}

// Outcome is what the throttle decided.
type Outcome string

const (
	// Allowed: the touch may go out now; the caller reserves it.
	Allowed Outcome = "allowed"
	// Deferred: the touch must wait until Decision.NotBefore.
	Deferred Outcome = "deferred"
	// Expired: the touch cannot go out before its deadline.
	Expired Outcome = "expired"
)

// Decision is the throttle's answer to a Request.
type Decision struct {
	Outcome Outcome
	// NotBefore is the earliest moment every rule allows the touch (equal to
	// the request time when allowed; the moment that passed the deadline
	// when expired).
	NotBefore time.Time
	// Rule is the id of the rule that decided ("" when allowed), prefixed
	// "throttle.", e.g. "throttle.quiet_hours.sms".
	Rule string
	// Reason says it in plain language.
	Reason string
}

// hit is one rule that a touch at some moment would break.
type hit struct {
	rule  string
	clear time.Time // the earliest moment (after the probe) this rule alone allows it
	cap   *Cap      // the cap, for a cap rule
}

// reason says in plain language what the rule asks of req.
func (h hit) reason(p *Policy, req Request) string {
	switch {
	case h.cap != nil:
		return h.cap.describe()
	case h.rule == "priority":
		return "a touch of higher priority is due first"
	case h.rule == "min_gap":
		return fmt.Sprintf("at least %s between two touches", fmtDur(time.Duration(p.MinGap)))
	}
	q := p.QuietHours[req.Channel]
	return fmt.Sprintf("%s is quiet from %s until %s local time", req.Channel, q.Start, q.End)
}

// maxRounds bounds the search for the earliest allowed moment. Every round
// moves the candidate forward past at least one history touch or one day
// boundary, so a real history settles in a handful.
const maxRounds = 1000

// Decide returns the decision for req given the customer's counted touches.
// It is pure: same policy, history and request, same decision.
//
// The earliest allowed moment is found by iterating: at the candidate time,
// each broken rule gives the earliest moment it alone would allow; the
// candidate moves to the latest of those, until no rule is broken. Because
// each rule's answer is exact (no earlier moment satisfies it), no moment
// before the result satisfies every rule.
func (p *Policy) Decide(history []Past, req Request) Decision {
	if req.Loc == nil {
		req.Loc = p.defaultLoc
	}
	hs := append([]Past(nil), history...)
	sort.Slice(hs, func(i, j int) bool { return hs[i].At.Before(hs[j].At) })

	t := req.At
	var first hit
	for round := 0; ; round++ {
		hits := p.check(hs, req, t)
		if len(hits) == 0 {
			break
		}
		latest := hits[0]
		for _, h := range hits[1:] {
			if h.clear.After(latest.clear) {
				latest = h
			}
		}
		if round == 0 {
			first = latest
		}
		if !req.Deadline.IsZero() && latest.clear.After(req.Deadline) {
			return Decision{Outcome: Expired, NotBefore: latest.clear, Rule: "throttle." + latest.rule,
				Reason: fmt.Sprintf("%s; the earliest allowed moment, %s, is after the deadline %s",
					latest.reason(p, req), local(latest.clear, req.Loc), local(req.Deadline, req.Loc))}
		}
		if round == maxRounds {
			return Decision{Outcome: Expired, NotBefore: latest.clear, Rule: "throttle." + latest.rule,
				Reason: latest.reason(p, req) + "; no allowed moment found"}
		}
		t = latest.clear
	}
	if t.Equal(req.At) {
		return Decision{Outcome: Allowed, NotBefore: t}
	}
	return Decision{Outcome: Deferred, NotBefore: t, Rule: "throttle." + first.rule,
		Reason: fmt.Sprintf("%s; deferred until %s", first.reason(p, req), local(t, req.Loc))}
}

func local(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// check returns every rule a touch at t would break. history is sorted.
func (p *Policy) check(history []Past, req Request, t time.Time) []hit {
	var hits []hit
	var ahead time.Time
	for _, w := range req.Waiting {
		if Rank(w.Intent) < Rank(req.Intent) && !t.Before(w.At) && t.Before(w.At.Add(PriorityGrace)) {
			if end := w.At.Add(PriorityGrace); end.After(ahead) {
				ahead = end
			}
		}
	}
	if !ahead.IsZero() {
		hits = append(hits, hit{rule: "priority", clear: ahead})
	}
	if q, ok := p.QuietHours[req.Channel]; ok {
		rule := "quiet_hours." + string(req.Channel)
		if !p.exempt(req.Intent, rule) {
			if end, quiet := quietUntil(q, t, req.Loc); quiet {
				hits = append(hits, hit{rule: rule, clear: end})
			}
		}
	}
	if gap := time.Duration(p.MinGap); gap > 0 && !p.exempt(req.Intent, "min_gap") {
		clear := t
		for _, h := range history {
			if d := clear.Sub(h.At); d < gap && d > -gap {
				clear = h.At.Add(gap)
			}
		}
		if clear.After(t) {
			hits = append(hits, hit{rule: "min_gap", clear: clear})
		}
	}
	for i, c := range p.Caps {
		rule := "cap." + c.ID
		if !c.applies(req.Channel, req.Intent) || p.exempt(req.Intent, rule) {
			continue
		}
		if clear, over := c.clear(history, t, req.Loc); over {
			hits = append(hits, hit{rule: rule, clear: clear, cap: &p.Caps[i]})
		}
	}
	return hits
}

// clear reports whether the cap is full at t and, if so, the earliest moment
// after t when it has room.
func (c Cap) clear(history []Past, t time.Time, loc *time.Location) (time.Time, bool) {
	if c.Per == PerLocalDay {
		y, m, d := t.In(loc).Date()
		n := 0
		for _, h := range history {
			if hy, hm, hd := h.At.In(loc).Date(); hy == y && hm == m && hd == d && c.applies(h.Channel, h.Intent) {
				n++
			}
		}
		if n < c.Max {
			return time.Time{}, false
		}
		return nextLocalDay(t, loc), true
	}
	// Rolling window: a touch at x counts at t while t < x + window. The
	// oldest counted touches leave first; the cap has room once enough left.
	w := time.Duration(c.Window)
	var in []time.Time
	for _, h := range history {
		if t.Before(h.At.Add(w)) && c.applies(h.Channel, h.Intent) {
			in = append(in, h.At)
		}
	}
	if len(in) < c.Max {
		return time.Time{}, false
	}
	return in[len(in)-c.Max].Add(w), true
}

func (c Cap) describe() string {
	var scope []string
	for _, ch := range c.Channels {
		scope = append(scope, string(ch))
	}
	for _, in := range c.Intents {
		scope = append(scope, string(in))
	}
	what := "touches"
	if len(scope) > 0 {
		what = strings.Join(scope, "/") + " touches"
	}
	if c.Per == PerLocalDay {
		return fmt.Sprintf("at most %d %s per local day", c.Max, what)
	}
	return fmt.Sprintf("at most %d %s per %s", c.Max, what, fmtDur(time.Duration(c.Window)))
}

func fmtDur(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// quietUntil reports whether t is inside q in loc, and if so the first
// moment after t that is not.
func quietUntil(q Quiet, t time.Time, loc *time.Location) (time.Time, bool) {
	lt := t.In(loc)
	if !quietAt(q, lt) {
		return time.Time{}, false
	}
	y, mo, d := lt.Date()
	if q.Start >= q.End && clockOf(lt) >= q.End {
		d++ // wraps midnight, and ends tomorrow
	}
	end := firstAt(y, mo, d, int(q.End)/60, int(q.End)%60, loc)
	_, change := lt.ZoneBounds()
	switch {
	case clockOf(end.In(loc)) != q.End || !end.After(t):
		// The end falls in the hour the clocks skip: the quiet period
		// ends when they jump.
		if !change.IsZero() {
			end = change
		}
	case !change.IsZero() && change.Before(end) && !quietAt(q, change.In(loc)):
		// The clocks fall back out of the quiet period before it ends.
		end = change
	}
	return end, true
}

func clockOf(lt time.Time) Clock { return Clock(lt.Hour()*60 + lt.Minute()) }

// quietAt reports whether the local time lt is inside q.
func quietAt(q Quiet, lt time.Time) bool {
	m := clockOf(lt)
	if q.Start < q.End {
		return m >= q.Start && m < q.End
	}
	return m >= q.Start || m < q.End
}

// firstAt is time.Date for a wall-clock minute in loc, choosing the first of
// the two instants when the clocks fall back and the minute happens twice.
func firstAt(y int, mo time.Month, d, h, mi int, loc *time.Location) time.Time {
	v := time.Date(y, mo, d, h, mi, 0, 0, loc)
	wall := v.In(loc)
	for _, back := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
		c := v.Add(-back).In(loc)
		if c.Year() == wall.Year() && c.YearDay() == wall.YearDay() && c.Hour() == wall.Hour() && c.Minute() == wall.Minute() {
			return c
		}
	}
	return v
}

// nextLocalDay is the first moment of the calendar day after t's, in loc.
func nextLocalDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	next := firstAt(y, m, d+1, 0, 0, loc)
	if ny, nm, nd := next.In(loc).Date(); ny == y && nm == m && nd == d {
		// Midnight does not exist that day (the clocks jump at 00:00):
		// the day starts when they jump.
		next = nextChange(next, loc)
	}
	return next
}

// nextChange is the next moment the zone's offset changes after t, or t
// plus a minute when there is none.
func nextChange(t time.Time, loc *time.Location) time.Time {
	if _, end := t.In(loc).ZoneBounds(); !end.IsZero() {
		return end
	}
	return t.Add(time.Minute)
}
