package ledger

import (
	"context"

	"github.com/outreach-engine/outreach/internal/store"
)

// Release moves a touch from sending back to reserved after the provider
// answered that it did not take the message (a rate limit or a server
// error): the next attempt is then a fresh, unambiguous send, and its rules
// are checked again.
func Release(ctx context.Context, db store.DB, id int64) error {
	return transition(ctx, db, id, []Status{Sending},
		`update touches set status = 'reserved', updated_at = now()`)
}
