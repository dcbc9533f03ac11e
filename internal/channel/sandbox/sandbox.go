// Package sandbox is the delivery mode of the demo and of every environment
// without provider credentials: it records exactly what would have been sent,
// rendered, in Postgres (table sandbox_outbox) instead of calling a provider.
package sandbox

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/store"
)

// Sender records messages of one channel in the outbox.
type Sender struct {
	DB      store.DB
	Channel channel.Name
}

// Send stores msg once per touch id: a repeated call for the same touch
// returns the first receipt, as a provider honouring an idempotency key would.
func (s Sender) Send(ctx context.Context, msg channel.Message) (channel.Receipt, error) {
	if msg.Channel != s.Channel {
		return channel.Receipt{}, fmt.Errorf("sandbox %s sender got a %s message", s.Channel, msg.Channel)
	}
	_, err := s.DB.Exec(ctx, `
		insert into sandbox_outbox (touch_id, customer_id, channel, recipient, subject, body)
		values ($1, $2, $3, $4, $5, $6)
		on conflict (touch_id) do nothing`,
		msg.TouchID, msg.CustomerID, string(msg.Channel), msg.To, msg.Subject, msg.Body)
	if err != nil {
		return channel.Receipt{}, fmt.Errorf("sandbox outbox: %w", err)
	}
	return channel.Receipt{ProviderID: ProviderID(msg.TouchID)}, nil
}

// ProviderID is the sandbox's message id for a touch.
func ProviderID(touchID int64) string { return "sandbox-" + strconv.FormatInt(touchID, 10) }

// Senders returns a sandbox sender for every channel.
func Senders(db store.DB) map[channel.Name]channel.Sender {
	out := make(map[channel.Name]channel.Sender, len(channel.All))
	for _, ch := range channel.All {
		out[ch] = Sender{DB: db, Channel: ch}
	}
	return out
}

// Record is one message in the outbox.
type Record struct {
	TouchID    int64     `json:"touch_id"`
	CustomerID string    `json:"customer_id"`
	Channel    string    `json:"channel"`
	Recipient  string    `json:"recipient"`
	Subject    string    `json:"subject,omitempty"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
}

// ForCustomer lists what the sandbox recorded for a customer, oldest first.
func ForCustomer(ctx context.Context, db Querier, customerID string) ([]Record, error) {
	rows, err := db.Query(ctx, `
		select touch_id, customer_id, channel, recipient, subject, body, created_at
		from sandbox_outbox where customer_id = $1 order by created_at, touch_id`, customerID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Record])
}

// Querier is the read side of store.DB.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}
