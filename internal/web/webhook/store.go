package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/store"
)

// Event is a provider event resolved against the ledger.
type Event struct {
	Provider          string
	Key               string
	Kind              string
	TouchID           int64
	CustomerID        string
	Channel           channel.Name
	ProviderMessageID string
	OccurredAt        time.Time
}

// touchRef is what the webhook needs from a ledger row.
type touchRef struct {
	ID         int64
	WorkflowID string
	CustomerID string
	Channel    channel.Name
}

var errNoTouch = errors.New("touch not found")

func loadTouch(ctx context.Context, db store.DB, id int64) (touchRef, error) {
	var t touchRef
	var ch string
	err := db.QueryRow(ctx, `select id, workflow_id, customer_id, channel from touches where id = $1`, id).
		Scan(&t.ID, &t.WorkflowID, &t.CustomerID, &ch)
	if errors.Is(err, pgx.ErrNoRows) {
		return touchRef{}, errNoTouch
	}
	t.Channel = channel.Name(ch)
	return t, err
}

// record stores an event once. It reports false when the event was stored
// before (a replayed webhook).
func record(ctx context.Context, db store.DB, e Event) (bool, error) {
	var touch *int64
	if e.TouchID > 0 {
		touch = &e.TouchID
	}
	var occurred *time.Time
	if !e.OccurredAt.IsZero() {
		occurred = &e.OccurredAt
	}
	tag, err := db.Exec(ctx, `
		insert into provider_events (provider, event_key, kind, touch_id, customer_id, channel, provider_message_id, occurred_at)
		values ($1, $2, $3, $4, nullif($5, ''), nullif($6, ''), nullif($7, ''), $8)
		on conflict (provider, event_key) do nothing`,
		e.Provider, e.Key, e.Kind, touch, e.CustomerID, string(e.Channel), e.ProviderMessageID, occurred)
	if err != nil {
		return false, fmt.Errorf("store %s event: %w", e.Provider, err)
	}
	return tag.RowsAffected() == 1, nil
}

// SourceWebhook is the consent source of a provider-reported opt-out.
const SourceWebhook = "webhook"

// revoke withdraws a customer's consent on a channel. Deliver reads consent
// from Postgres for every touch, so no running journey sends on that channel
// again.
func revoke(ctx context.Context, db store.DB, customerID string, ch channel.Name) error {
	_, err := db.Exec(ctx, `
		insert into consents (customer_id, channel, granted, source) values ($1, $2, false, 'webhook')
		on conflict (customer_id, channel) do update set granted = false, source = 'webhook', updated_at = now()`,
		customerID, string(ch))
	if err != nil {
		return fmt.Errorf("revoke %s consent: %w", ch, err)
	}
	return nil
}

// restore gives SMS consent back after START, but only when it was taken by
// an earlier STOP: START never grants what the customer never gave.
func restore(ctx context.Context, db store.DB, customerID string, ch channel.Name) (bool, error) {
	tag, err := db.Exec(ctx, `
		update consents set granted = true, updated_at = now()
		where customer_id = $1 and channel = $2 and granted = false and source = 'webhook'`,
		customerID, string(ch))
	if err != nil {
		return false, fmt.Errorf("restore %s consent: %w", ch, err)
	}
	return tag.RowsAffected() == 1, nil
}

// customersByPhone lists the customers with a phone number.
func customersByPhone(ctx context.Context, db store.DB, phone string) ([]string, error) {
	rows, err := db.Query(ctx, `select id from customers where phone = $1 order by id`, phone)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// latestTouch returns a customer's most recent sent touch on a channel.
func latestTouch(ctx context.Context, db store.DB, customerID string, ch channel.Name) (touchRef, error) {
	var t touchRef
	err := db.QueryRow(ctx, `
		select id, workflow_id, customer_id from touches
		where customer_id = $1 and channel = $2 and status = 'sent'
		order by sent_at desc nulls last, id desc limit 1`, customerID, string(ch)).
		Scan(&t.ID, &t.WorkflowID, &t.CustomerID)
	if errors.Is(err, pgx.ErrNoRows) {
		return touchRef{}, errNoTouch
	}
	t.Channel = ch
	return t, err
}
