// Package calltask owns human-call tasks: the rule that decides which
// messages go to a person instead of a machine, the task's life in Postgres
// (open, claimed under a lease, completed with an outcome, or expired), and
// the hours a customer may be called in their own time zone.
package calltask

import (
	"fmt"
	"slices"
	"strings"

	"github.com/outreach-engine/outreach/internal/channel"
)

// Handler says who delivers a message.
type Handler string

const (
	// Automated messages go through a channel's sender.
	Automated Handler = "automated"
	// Human messages become a call task for an agent at the call desk.
	Human Handler = "human"
)

// Pair is one channel and intent.
type Pair struct {
	Channel channel.Name   `json:"channel"`
	Intent  channel.Intent `json:"intent"`
}

func (p Pair) String() string { return string(p.Channel) + "/" + string(p.Intent) }

// Policy lists the channel and intent pairs that, besides the fixed rule,
// go to a person. It is configuration (OUTREACH_HUMAN_CALL_ROUTES), carried
// in the journey's input so that a running journey routes the same way on
// every replay.
type Policy struct {
	Human []Pair `json:"human,omitempty"`
}

// Route decides who delivers a message on ch with intent. A caring message on
// the voice channel always goes to a person, whatever the policy says: a
// robot must not say it cares. Other pairs go to a person when the policy
// lists them.
func Route(ch channel.Name, intent channel.Intent, p Policy) Handler {
	if ch == channel.Voice && intent == channel.Caring {
		return Human
	}
	if slices.Contains(p.Human, Pair{ch, intent}) {
		return Human
	}
	return Automated
}

// ParsePolicy reads a policy written as comma-separated channel/intent
// pairs, e.g. "voice/transactional, sms/caring". Empty means the fixed rule only.
func ParsePolicy(s string) (Policy, error) {
	var p Policy
	for _, field := range strings.Split(s, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		chs, ins, ok := strings.Cut(field, "/")
		if !ok {
			return Policy{}, fmt.Errorf("human-call route %q: want channel/intent, e.g. voice/transactional", field)
		}
		ch, err := channel.ParseName(strings.TrimSpace(chs))
		if err != nil {
			return Policy{}, fmt.Errorf("human-call route %q: %w", field, err)
		}
		in, err := channel.ParseIntent(strings.TrimSpace(ins))
		if err != nil {
			return Policy{}, fmt.Errorf("human-call route %q: %w", field, err)
		}
		if !slices.Contains(p.Human, Pair{ch, in}) {
			p.Human = append(p.Human, Pair{ch, in})
		}
	}
	return p, nil
}
