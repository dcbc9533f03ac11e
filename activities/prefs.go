package activities

import (
	"context"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/prefs"
)

// Linker adds the customer's signed links (preference center, unsubscribe,
// "why did I get this?") to a rendered message; links.Footer is one.
type Linker interface {
	AddLinks(msg channel.Message) channel.Message
}

// customerChoices applies what the customer chose in the preference center:
// suppressions (one-click unsubscribe) and their frequency for offers. It
// returns the rule that blocks the touch, or "".
func (a *Activities) customerChoices(ctx context.Context, t ledger.Touch) (string, error) {
	return prefs.Guard(ctx, a.DB, prefs.Touch{ID: t.ID, CustomerID: t.CustomerID, Channel: t.Channel, Intent: t.Intent})
}
