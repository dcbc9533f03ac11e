package journey

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Until is a local time of the customer's day to wait for, such as
// "next weekday 10:00". Without "next" the first matching moment after now
// counts, today included; with "next" it must fall on a later day.
type Until struct {
	NotToday bool
	// Days holds the allowed weekdays as bits (1 << time.Weekday).
	Days         uint8
	Hour, Minute int
}

const (
	everyDay = 0b1111111
	weekdays = 0b0111110
	weekend  = 0b1000001
)

// ParseUntil parses "[next] [day|weekday|weekend|monday..sunday] HH:MM".
func ParseUntil(s string) (Until, error) {
	u := Until{Days: everyDay}
	f := strings.Fields(strings.ToLower(s))
	if len(f) > 0 && f[0] == "next" {
		u.NotToday, f = true, f[1:]
	}
	if len(f) == 2 {
		switch f[0] {
		case "day":
		case "weekday":
			u.Days = weekdays
		case "weekend":
			u.Days = weekend
		default:
			d, ok := weekdayNames[f[0]]
			if !ok {
				return Until{}, fmt.Errorf("until %q: unknown day %q (want day, weekday, weekend or a weekday name)", s, f[0])
			}
			u.Days = 1 << d
		}
		f = f[1:]
	}
	if len(f) != 1 {
		return Until{}, fmt.Errorf("until %q: want a local time such as \"10:00\", \"next weekday 10:00\" or \"monday 09:30\"", s)
	}
	h, m, ok := strings.Cut(f[0], ":")
	hour, err1 := strconv.Atoi(h)
	minute, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hour < 0 || hour > 23 || minute < 0 || minute > 59 {
		return Until{}, fmt.Errorf("until %q: %q is not a time of day HH:MM", s, f[0])
	}
	u.Hour, u.Minute = hour, minute
	return u, nil
}

var weekdayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// Next returns the first moment after now that matches u in loc.
func (u Until) Next(now time.Time, loc *time.Location) time.Time {
	local := now.In(loc)
	for i := 0; i <= 8; i++ {
		if i == 0 && u.NotToday {
			continue
		}
		t := time.Date(local.Year(), local.Month(), local.Day()+i, u.Hour, u.Minute, 0, 0, loc)
		if u.Days&(1<<t.Weekday()) != 0 && t.After(now) {
			return t
		}
	}
	// Unreachable for a parsed Until: every day set has a match within a week.
	return now
}

// ParseDuration parses a duration with day and week units as well as Go's:
// "36h", "3d", "2w", "1d12h", "90m", "45s".
func ParseDuration(s string) (time.Duration, error) {
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	for rest != "" {
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 || n > 6 {
			return 0, fmt.Errorf("bad duration %q (want e.g. 36h, 3d, 2w)", s)
		}
		v, _ := strconv.Atoi(rest[:n])
		rest = rest[n:]
		u := 0
		for u < len(rest) && (rest[u] < '0' || rest[u] > '9') {
			u++
		}
		unit, ok := durationUnits[rest[:u]]
		if !ok {
			return 0, fmt.Errorf("bad duration %q: unknown unit %q (want w, d, h, m, s or ms)", s, rest[:u])
		}
		rest = rest[u:]
		total += time.Duration(v) * unit
	}
	if total <= 0 {
		return 0, fmt.Errorf("bad duration %q: must be positive", s)
	}
	if total > 5*365*24*time.Hour {
		return 0, fmt.Errorf("bad duration %q: more than five years", s)
	}
	return total, nil
}

var durationUnits = map[string]time.Duration{
	"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second, "ms": time.Millisecond,
}

// FormatDuration writes d with the largest units ParseDuration reads back.
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return d.String()
	}
	var b strings.Builder
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.d
		}
	}
	if b.Len() == 0 {
		return d.String()
	}
	return b.String()
}
