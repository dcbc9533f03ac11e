// Package ledger owns the contact ledger: one row per touch, moving through
// reserved -> sending -> sent | blocked | failed (or, held by the throttle,
// reserved -> deferred -> reserved ... | expired). The row's business key,
// (workflow id, entry id, step key), makes every write idempotent, so a
// retried activity or a restarted worker never records or sends a touch twice.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/store"
)

// Status is where a touch is in its life.
type Status string

const (
	Reserved Status = "reserved"
	Sending  Status = "sending"
	Sent     Status = "sent"
	Blocked  Status = "blocked"
	Failed   Status = "failed"
	// Deferred: the throttle holds the touch until a later moment.
	Deferred Status = "deferred"
	// Expired: the throttle found no allowed moment before the deadline.
	Expired Status = "expired"
)

// Final reports whether no further transition is possible.
func (s Status) Final() bool { return s == Sent || s == Blocked || s == Failed || s == Expired }

// Key identifies one touch across retries and restarts.
type Key struct {
	WorkflowID string
	// EntryID is the first run id of the journey: the same for every retry
	// and continuation, different when a customer deliberately re-enters.
	EntryID string
	StepKey string
}

// Planned is what a journey step wants to send.
type Planned struct {
	Key
	Journey        string
	JourneyVersion int
	CustomerID     string
	StepID         string
	Channel        channel.Name
	Intent         channel.Intent
	// Variant is the split variant the customer is in ("" outside splits).
	Variant string `json:",omitempty"`
}

// Touch is one ledger row.
type Touch struct {
	ID             int64          `json:"id"`
	WorkflowID     string         `json:"workflow_id"`
	Journey        string         `json:"journey"`
	JourneyVersion int            `json:"journey_version"`
	CustomerID     string         `json:"customer_id"`
	StepID         string         `json:"step_id"`
	Channel        channel.Name   `json:"channel"`
	Intent         channel.Intent `json:"intent"`
	Status         Status         `json:"status"`
	Reason         string         `json:"reason,omitempty"`
	ProviderID     string         `json:"provider_message_id,omitempty"`
	Attempts       int            `json:"attempts"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	SentAt         *time.Time     `json:"sent_at,omitempty"`
}

const touchColumns = `id, workflow_id, journey, journey_version, customer_id, step_id, channel, intent,
	status, reason, coalesce(provider_message_id, '') as provider_id, attempts, created_at, updated_at, sent_at`

func scanTouch(row pgx.CollectableRow) (Touch, error) {
	var t Touch
	var ch, intent, status string
	err := row.Scan(&t.ID, &t.WorkflowID, &t.Journey, &t.JourneyVersion, &t.CustomerID, &t.StepID,
		&ch, &intent, &status, &t.Reason, &t.ProviderID, &t.Attempts, &t.CreatedAt, &t.UpdatedAt, &t.SentAt)
	t.Channel, t.Intent, t.Status = channel.Name(ch), channel.Intent(intent), Status(status)
	return t, err
}

// Reserve records the planned touch, or returns the row an earlier attempt
// already wrote (counting the attempt). The returned status tells the caller
// whether there is anything left to do.
func Reserve(ctx context.Context, db store.DB, p Planned) (Touch, error) {
	rows, err := db.Query(ctx, `
		insert into touches (workflow_id, entry_id, step_key, journey, journey_version, customer_id,
		                     step_id, channel, intent, variant, status)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, nullif($10, ''), 'reserved')
		on conflict (workflow_id, entry_id, step_key)
		do update set attempts = touches.attempts + 1, updated_at = now(),
			-- a deferred touch asking again waits for a fresh decision
			status = case when touches.status = 'deferred' then 'reserved' else touches.status end
		returning `+touchColumns,
		p.WorkflowID, p.EntryID, p.StepKey, p.Journey, p.JourneyVersion, p.CustomerID,
		p.StepID, string(p.Channel), string(p.Intent), p.Variant)
	if err != nil {
		return Touch{}, fmt.Errorf("reserve touch: %w", err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanTouch)
	if err != nil {
		return Touch{}, fmt.Errorf("reserve touch: %w", err)
	}
	return t, nil
}

// ErrTransition is returned when a touch is not in a state that allows the
// requested move (for example marking a blocked touch as sent).
var ErrTransition = errors.New("ledger: touch is not in a state that allows this transition")

func transition(ctx context.Context, db store.DB, id int64, from []Status, sql string, args ...any) error {
	froms := make([]string, len(from))
	for i, s := range from {
		froms[i] = string(s)
	}
	tag, err := db.Exec(ctx, sql+` where id = $1 and status = any($2)`, append([]any{id, froms}, args...)...)
	if err != nil {
		return fmt.Errorf("ledger touch %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w (touch %d, want one of %v)", ErrTransition, id, from)
	}
	return nil
}

// MarkSending records that the provider is about to be called.
func MarkSending(ctx context.Context, db store.DB, id int64) error {
	return transition(ctx, db, id, []Status{Reserved, Sending},
		`update touches set status = 'sending', updated_at = now()`)
}

// MarkSent records the provider's acceptance.
func MarkSent(ctx context.Context, db store.DB, id int64, providerID string) error {
	return transition(ctx, db, id, []Status{Reserved, Sending},
		`update touches set status = 'sent', provider_message_id = $3, sent_at = now(), updated_at = now()`, providerID)
}

// MarkBlocked records that a rule stopped the touch before any send.
func MarkBlocked(ctx context.Context, db store.DB, id int64, reason string) error {
	return transition(ctx, db, id, []Status{Reserved},
		`update touches set status = 'blocked', reason = $3, updated_at = now()`, reason)
}

// MarkFailed records that the touch failed for good.
func MarkFailed(ctx context.Context, db store.DB, id int64, reason string) error {
	return transition(ctx, db, id, []Status{Reserved, Sending},
		`update touches set status = 'failed', reason = $3, updated_at = now()`, reason)
}

// ForCustomer lists a customer's touches, oldest first.
func ForCustomer(ctx context.Context, db store.DB, customerID string) ([]Touch, error) {
	rows, err := db.Query(ctx, `select `+touchColumns+` from touches where customer_id = $1 order by created_at, id`, customerID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanTouch)
}

// ForWorkflow lists a journey's touches, oldest first.
func ForWorkflow(ctx context.Context, db store.DB, workflowID string) ([]Touch, error) {
	rows, err := db.Query(ctx, `select `+touchColumns+` from touches where workflow_id = $1 order by created_at, id`, workflowID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanTouch)
}

// Counts is how many touches of a journey ended in each status.
type Counts map[Status]int

// CountByStatus counts a journey's touches by status.
func CountByStatus(ctx context.Context, db store.DB, journey string) (Counts, error) {
	rows, err := db.Query(ctx, `select status, count(*) from touches where journey = $1 group by status`, journey)
	if err != nil {
		return nil, err
	}
	out := Counts{}
	var s string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&s, &n}, func() error { out[Status(s)] = n; return nil })
	return out, err
}
