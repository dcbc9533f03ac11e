// Package prefs owns what customers told us in the preference center: which
// channels they allow, how often at most they want offers, their quiet times,
// their interests, and the suppressions a one-click unsubscribe records. Every
// change is written with its time and source to preference_changes.
//
// It also holds the small guard the Deliver activity calls on every touch
// (suppressions, then the chosen frequency), and the erasure of a customer's
// personal data.
package prefs

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/channel"
)

// Frequency is how often at most a customer wants promotional messages.
type Frequency string

const (
	// Any leaves the pace to the engine's global caps.
	Any Frequency = "any"
	// Weekly allows one promotional touch per 7 days.
	Weekly Frequency = "weekly"
	// Monthly allows one promotional touch per 30 days.
	Monthly Frequency = "monthly"
	// OnRequest ("only what I ask for") allows no promotional touch at all;
	// transactional and caring messages still go out.
	OnRequest Frequency = "on_request"
)

// Frequencies lists the choices in the order the page shows them.
var Frequencies = []Frequency{Any, Weekly, Monthly, OnRequest}

// ParseFrequency returns the frequency named s.
func ParseFrequency(s string) (Frequency, error) {
	f := Frequency(s)
	if !slices.Contains(Frequencies, f) {
		return "", fmt.Errorf("unknown frequency %q (want any, weekly, monthly or on_request)", s)
	}
	return f, nil
}

// Label is the choice in the customer's words.
func (f Frequency) Label() string {
	switch f {
	case Weekly:
		return "At most one offer a week"
	case Monthly:
		return "At most one offer a month"
	case OnRequest:
		return "Only what I ask for (no offers)"
	}
	return "Whenever you have something for me"
}

// Cap returns the promotional cap of a frequency: at most maxTouches in any
// window. ok is false for Any, which sets no cap of its own. OnRequest is a
// cap of zero.
func (f Frequency) Cap() (maxTouches int, window time.Duration, ok bool) {
	switch f {
	case Weekly:
		return 1, 7 * 24 * time.Hour, true
	case Monthly:
		return 1, 30 * 24 * time.Hour, true
	case OnRequest:
		return 0, 0, true
	}
	return 0, 0, false
}

// Interest is one entry of the catalogue the offers are tagged with.
type Interest struct {
	ID    string
	Label string
}

// Catalogue is the list of interests a customer can pick from. Offers name
// the same ids in their audience rules, and customers.interests holds them.
var Catalogue = []Interest{
	{"books", "Books"},
	{"cooking", "Cooking"},
	{"gardening", "Gardening"},
	{"golf", "Golf"},
	{"home", "Home and furniture"},
	{"kids", "Children and family"},
	{"music", "Music"},
	{"outdoors", "The outdoors"},
	{"running", "Running"},
	{"skiing", "Skiing"},
	{"tennis", "Tennis"},
	{"travel", "Travel"},
}

// InterestLabel returns the label of an interest id (the id itself when it is
// not in the catalogue).
func InterestLabel(id string) string {
	for _, in := range Catalogue {
		if in.ID == id {
			return in.Label
		}
	}
	return id
}

var clock = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// Quiet is a daily quiet time in the customer's own time zone, as "HH:MM"
// (24-hour). Start after End spans midnight. The zero value means none.
type Quiet struct {
	Start, End string
}

// Set reports whether a quiet time was chosen.
func (q Quiet) Set() bool { return q.Start != "" }

// Validate checks both ends are "HH:MM", both or neither given, and not equal.
func (q Quiet) Validate() error {
	switch {
	case q.Start == "" && q.End == "":
		return nil
	case q.Start == "" || q.End == "":
		return fmt.Errorf("quiet time needs both a start and an end")
	case !clock.MatchString(q.Start):
		return fmt.Errorf("quiet time start %q is not a time such as 21:00", q.Start)
	case !clock.MatchString(q.End):
		return fmt.Errorf("quiet time end %q is not a time such as 08:00", q.End)
	case q.Start == q.End:
		return fmt.Errorf("quiet time start and end are both %s", q.Start)
	}
	return nil
}

// Contains reports whether the local time of day t falls in the quiet time.
func (q Quiet) Contains(t time.Time) bool {
	if !q.Set() {
		return false
	}
	now := t.Format("15:04")
	if q.Start < q.End {
		return now >= q.Start && now < q.End
	}
	return now >= q.Start || now < q.End
}

func (q Quiet) String() string {
	if !q.Set() {
		return "none"
	}
	return q.Start + "–" + q.End
}

// Suppression stops one intent on one channel.
type Suppression struct {
	Channel   channel.Name
	Intent    channel.Intent
	Source    string
	CreatedAt time.Time
}

// Rule is the ledger reason of a touch this suppression blocks.
func (s Suppression) Rule() string { return SuppressionRule(s.Channel, s.Intent) }

// SuppressionRule is the rule id for a suppressed channel and intent, e.g.
// "suppression.email.promotional".
func SuppressionRule(ch channel.Name, in channel.Intent) string {
	return "suppression." + string(ch) + "." + string(in)
}

// RuleFrequency is the ledger reason of a promotional touch held back by the
// customer's own frequency choice.
const RuleFrequency = "preference.frequency"

// Preferences is everything a customer can choose in the preference center.
type Preferences struct {
	Consents     map[channel.Name]bool
	Frequency    Frequency
	Quiet        Quiet
	Interests    []string
	Suppressions []Suppression
	UpdatedAt    *time.Time
}

// Suppressed reports whether the channel and intent are suppressed.
func (p Preferences) Suppressed(ch channel.Name, in channel.Intent) bool {
	return slices.ContainsFunc(p.Suppressions, func(s Suppression) bool { return s.Channel == ch && s.Intent == in })
}

// Change is one changed field, as written to the audit trail.
type Change struct {
	Field, Old, New string
}

// Diff lists the fields that differ from old to new, in a stable order.
// Suppressions are not part of the diff: they change through Suppress and
// Lift.
func Diff(old, new Preferences) []Change {
	var out []Change
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	for _, ch := range channel.All {
		if old.Consents[ch] != new.Consents[ch] {
			out = append(out, Change{"consent." + string(ch), yesNo(old.Consents[ch]), yesNo(new.Consents[ch])})
		}
	}
	if old.Frequency != new.Frequency {
		out = append(out, Change{"max_frequency", string(old.Frequency), string(new.Frequency)})
	}
	if old.Quiet != new.Quiet {
		out = append(out, Change{"quiet_time", old.Quiet.String(), new.Quiet.String()})
	}
	a, b := sortedCopy(old.Interests), sortedCopy(new.Interests)
	if !slices.Equal(a, b) {
		out = append(out, Change{"interests", strings.Join(a, ","), strings.Join(b, ",")})
	}
	return out
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return slices.Compact(c)
}
