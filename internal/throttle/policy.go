// Package throttle owns the global cross-channel throttle: the policy file,
// the pure rule maths in the customer's local time (windows, quiet hours, the
// earliest moment every rule allows a touch), and the check-and-reserve
// transaction that applies it to the contact ledger.
package throttle

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/outreach-engine/outreach/internal/channel"
)

//go:embed default_policy.yaml
var defaultPolicy []byte

// Policy is the throttle policy: caps, the minimum gap, quiet hours and what
// each intent may skip. Load it with Parse, LoadFile or Default.
type Policy struct {
	// DefaultTimeZone is used when a customer's zone is missing or invalid.
	DefaultTimeZone string `yaml:"default_time_zone"`
	// MinGap is the least time between any two touches of a customer.
	MinGap Duration `yaml:"min_gap"`
	// Caps limit how many touches fall in a window.
	Caps []Cap `yaml:"caps"`
	// QuietHours are per channel, in the customer's local time.
	QuietHours map[channel.Name]Quiet `yaml:"quiet_hours"`
	// Intents say which rules an intent skips and how long its touches may wait.
	Intents map[channel.Intent]IntentPolicy `yaml:"intents"`

	defaultLoc *time.Location
}

// Cap allows at most Max touches in a rolling Window, or per calendar day in
// the customer's time zone when Per is "local_day". Channels and Intents,
// when set, restrict the cap to touches (both the counted ones and the
// requested one) on those channels and of those intents.
type Cap struct {
	ID       string           `yaml:"id"`
	Max      int              `yaml:"max"`
	Window   Duration         `yaml:"window"`
	Per      string           `yaml:"per"`
	Channels []channel.Name   `yaml:"channels"`
	Intents  []channel.Intent `yaml:"intents"`
}

// PerLocalDay is the Cap.Per value for calendar days in the customer's zone.
const PerLocalDay = "local_day"

// Quiet is a daily quiet period from Start until End, local time. When End is
// not after Start the period wraps midnight (21:00 until 08:00).
type Quiet struct {
	Start Clock `yaml:"start"`
	End   Clock `yaml:"end"`
}

// IntentPolicy is what an intent may skip and how long its touches may wait.
type IntentPolicy struct {
	// Exempt lists rule ids this intent is not held to: "cap.<id>",
	// "min_gap", "quiet_hours.<channel>". Its touches still count for others.
	Exempt []string `yaml:"exempt"`
	// MaxDefer is how long a touch may wait when its step does not say.
	MaxDefer Duration `yaml:"max_defer"`
}

// Duration is a time.Duration written as Go does ("36h", "90m") or in whole
// days ("7d").
type Duration time.Duration

var days = regexp.MustCompile(`^([0-9]+)d$`)

// ParseDuration parses "7d" or any time.ParseDuration string.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if m := days.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 7d, 36h or 90m", s)
	}
	return d, nil
}

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration such as 7d, 36h or 90m", n.Line)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// Clock is a time of day in minutes after midnight.
type Clock int

// ParseClock parses "HH:MM" (24-hour).
func ParseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q is not a time of day such as 08:00", s)
	}
	return Clock(hh*60 + mm), nil
}

// UnmarshalYAML reads "HH:MM".
func (c *Clock) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a time of day such as \"08:00\"", n.Line)
	}
	v, err := ParseClock(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*c = v
	return nil
}

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// Default returns the embedded policy.
func Default() *Policy {
	p, err := Parse(defaultPolicy)
	if err != nil {
		panic("throttle: embedded policy: " + err.Error())
	}
	return p
}

// LoadFile parses the policy file at path, or returns Default when path is "".
func LoadFile(path string) (*Policy, error) {
	if path == "" {
		return Default(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("throttle policy: %w", err)
	}
	p, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("throttle policy %s: %w", path, err)
	}
	return p, nil
}

// Parse reads a policy in YAML or JSON (a JSON document is valid YAML),
// rejecting unknown fields, and validates it.
func Parse(b []byte) (*Policy, error) {
	var p Policy
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

func (p *Policy) validate() error {
	var errs []error
	if p.DefaultTimeZone == "" {
		p.DefaultTimeZone = "UTC"
	}
	loc, err := time.LoadLocation(p.DefaultTimeZone)
	if err != nil || p.DefaultTimeZone == "Local" {
		errs = append(errs, fmt.Errorf("default_time_zone: %q is not an IANA time zone", p.DefaultTimeZone))
	}
	p.defaultLoc = loc
	if p.MinGap < 0 {
		errs = append(errs, errors.New("min_gap: must not be negative"))
	}
	rules := map[string]bool{"min_gap": true}
	for i, c := range p.Caps {
		where := fmt.Sprintf("caps[%d] (%s)", i, c.ID)
		switch {
		case c.ID == "":
			errs = append(errs, fmt.Errorf("caps[%d]: id is empty", i))
		case rules["cap."+c.ID]:
			errs = append(errs, fmt.Errorf("%s: duplicate id", where))
		}
		rules["cap."+c.ID] = true
		if c.Max < 1 {
			errs = append(errs, fmt.Errorf("%s: max must be 1 or more (a channel nobody may use is a consent matter, not a cap)", where))
		}
		switch {
		case c.Per == PerLocalDay && c.Window != 0:
			errs = append(errs, fmt.Errorf("%s: give either window or per, not both", where))
		case c.Per == "" && c.Window <= 0:
			errs = append(errs, fmt.Errorf("%s: needs a positive window (e.g. 7d) or per: local_day", where))
		case c.Per != "" && c.Per != PerLocalDay:
			errs = append(errs, fmt.Errorf("%s: per %q is unknown (want local_day)", where, c.Per))
		}
		for _, ch := range c.Channels {
			if !ch.Valid() {
				errs = append(errs, fmt.Errorf("%s: unknown channel %q", where, ch))
			}
		}
		for _, in := range c.Intents {
			if !in.Valid() {
				errs = append(errs, fmt.Errorf("%s: unknown intent %q", where, in))
			}
		}
	}
	for _, ch := range channel.All {
		rules["quiet_hours."+string(ch)] = true
	}
	for ch, q := range p.QuietHours {
		if !ch.Valid() {
			errs = append(errs, fmt.Errorf("quiet_hours: unknown channel %q", ch))
		}
		if q.Start == q.End {
			errs = append(errs, fmt.Errorf("quiet_hours.%s: start and end are both %s", ch, q.Start))
		}
	}
	for in, ip := range p.Intents {
		if !in.Valid() {
			errs = append(errs, fmt.Errorf("intents: unknown intent %q", in))
		}
		if ip.MaxDefer < 0 {
			errs = append(errs, fmt.Errorf("intents.%s.max_defer: must not be negative", in))
		}
		for _, r := range ip.Exempt {
			if !rules[r] {
				errs = append(errs, fmt.Errorf("intents.%s.exempt: %q is not a rule (want cap.<id>, min_gap or quiet_hours.<channel>)", in, r))
			}
		}
	}
	return errors.Join(errs...)
}

// Location resolves a customer's time zone. A missing or invalid zone gives
// the policy's default and a note for the ledger reason.
func (p *Policy) Location(zone string) (loc *time.Location, note string) {
	if zone != "" && zone != "Local" {
		if l, err := time.LoadLocation(zone); err == nil {
			return l, ""
		}
		return p.defaultLoc, fmt.Sprintf("time zone %q is invalid; used default %s", zone, p.DefaultTimeZone)
	}
	return p.defaultLoc, "time zone missing; used default " + p.DefaultTimeZone
}

// MaxDefer is how long a touch of the intent may wait when its step does not say.
func (p *Policy) MaxDefer(in channel.Intent) time.Duration {
	return time.Duration(p.Intents[in].MaxDefer)
}

func (p *Policy) exempt(in channel.Intent, rule string) bool {
	for _, r := range p.Intents[in].Exempt {
		if r == rule {
			return true
		}
	}
	return false
}

// Lookback is how far back history can matter to a decision.
func (p *Policy) Lookback() time.Duration {
	lb := time.Duration(p.MinGap) + 50*time.Hour // a local day is at most 25h, plus zone offsets
	for _, c := range p.Caps {
		if w := time.Duration(c.Window); w > lb {
			lb = w
		}
	}
	return lb
}

func (c Cap) applies(ch channel.Name, in channel.Intent) bool {
	return (len(c.Channels) == 0 || contains(c.Channels, ch)) && (len(c.Intents) == 0 || contains(c.Intents, in))
}

func contains[T comparable](xs []T, x T) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
