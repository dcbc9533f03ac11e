package throttle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outreach-engine/outreach/internal/channel"
)

// Check is one touch asking the throttle whether it may go out now.
type Check struct {
	// TouchID is the touch's ledger row; it must be reserved (waiting for a
	// decision) or deferred.
	TouchID    int64
	CustomerID string
	// TimeZone is the customer's IANA zone as stored; a missing or invalid
	// one falls back to the policy's default, and the reason says so.
	TimeZone string
	Channel  channel.Name
	Intent   channel.Intent
	// At is the decision's clock: the moment the touch would go out.
	At time.Time
	// RequestedAt is the journey's clock when it asked; recorded only.
	RequestedAt time.Time
	// MaxDefer is how long the touch may wait from its first decision; zero
	// takes the policy's default for the intent.
	MaxDefer time.Duration
}

// Result is a recorded decision.
type Result struct {
	Decision
	// DecidedAt is Check.At.
	DecidedAt time.Time
	// Deadline is when the touch goes stale (zero: never).
	Deadline time.Time
}

// ErrNotPending is returned when the touch is already settled or sending
// without having been allowed by the throttle.
var ErrNotPending = errors.New("throttle: touch is not waiting for a decision")

// lockClass namespaces the per-customer advisory locks of the throttle
// (pg_advisory_xact_lock(class, hashtext(customer id))).
const lockClass = 7_317_003

// CheckAndReserve decides one touch and records the decision, atomically
// with respect to every other decision for the same customer, on any worker.
//
// Concurrency: the transaction first takes a transaction-scoped advisory lock
// on the customer, so decisions for one customer run one at a time while
// different customers never wait for each other. Counting the ledger and
// writing the reservation then happen under that lock in the same
// transaction, so two workers can never both see room for the last slot.
// Chosen over the alternatives because: SELECT ... FOR UPDATE on the
// customer row would also block imports and preference updates of that
// customer for the length of the decision; SERIALIZABLE would be correct
// too, but under contention on one customer most transactions would abort
// and retry, which is slower and needs a retry loop at every caller. The lock
// ends with the transaction, so a crashed worker never leaves it held. A
// hash collision between two customers only makes them wait for each other.
//
// Durability: the decision commits with synchronous_commit off, so the
// per-customer lock is not held through a disk flush (several times the
// throughput when one customer is contended). Nothing is sent on the
// strength of an unflushed decision: Deliver marks the touch "sending" in
// a synchronous commit before calling the provider, and that flush covers
// the earlier decision. If the server crashes in between, the touch is back
// to waiting and is simply decided again when the activity retries; only
// the audit row of that lost decision is gone.
//
// An already-allowed touch (a retried activity) is returned as allowed
// without deciding again.
func CheckAndReserve(ctx context.Context, tx pgx.Tx, p *Policy, c Check) (Result, error) {
	// One round trip: the commit mode, the lock, the touch, the history and
	// the touches waiting.
	// The server runs them in order, so the history is read under the lock.
	var (
		status   string
		touchAt  *time.Time
		deadline *time.Time
		history  []Past
		waiting  []Past
	)
	batch := &pgx.Batch{}
	batch.Queue(`set local synchronous_commit = off`)
	batch.Queue(`select pg_advisory_xact_lock($1, hashtext($2))`, lockClass, c.CustomerID)
	batch.Queue(`select status, touch_at, deadline from touches where id = $1 for update`, c.TouchID).
		QueryRow(func(row pgx.Row) error {
			if err := row.Scan(&status, &touchAt, &deadline); err != nil {
				return fmt.Errorf("throttle: load touch %d: %w", c.TouchID, err)
			}
			return nil
		})
	batch.Queue(`
		select touch_at, channel, intent from touches
		where customer_id = $1 and id <> $2 and status in ('reserved', 'sending', 'sent')
		  and touch_at is not null and touch_at > $3
		order by touch_at`, c.CustomerID, c.TouchID, c.At.Add(-p.Lookback())).
		Query(func(rows pgx.Rows) error {
			var err error
			history, err = pgx.CollectRows(rows, scanPast)
			return err
		})
	batch.Queue(`
		select not_before, channel, intent from touches
		where customer_id = $1 and id <> $2 and status = 'deferred' and not_before > $3`,
		c.CustomerID, c.TouchID, c.At.Add(-PriorityGrace)).
		Query(func(rows pgx.Rows) error {
			var err error
			waiting, err = pgx.CollectRows(rows, scanPast)
			return err
		})
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return Result{}, fmt.Errorf("throttle: customer %s: %w", c.CustomerID, err)
	}
	if touchAt != nil && (status == "reserved" || status == "sending" || status == "sent") {
		return Result{Decision: Decision{Outcome: Allowed, NotBefore: *touchAt}, DecidedAt: *touchAt, Deadline: value(deadline)}, nil
	}
	if status != "reserved" && status != "deferred" {
		return Result{}, fmt.Errorf("%w (touch %d is %s)", ErrNotPending, c.TouchID, status)
	}
	if deadline == nil {
		maxDefer := c.MaxDefer
		if maxDefer == 0 {
			maxDefer = p.MaxDefer(c.Intent)
		}
		if maxDefer > 0 {
			d := c.At.Add(maxDefer)
			deadline = &d
		}
	}

	loc, note := p.Location(c.TimeZone)
	d := p.Decide(history, Request{At: c.At, Channel: c.Channel, Intent: c.Intent, Loc: loc, Deadline: value(deadline), Waiting: waiting})
	if note != "" {
		if d.Reason != "" {
			d.Reason += "; "
		}
		d.Reason += note
	}

	// The touch row keeps the rule id as its reason (like every other
	// ledger reason); the decision row keeps the plain-language sentence.
	status, rowReason := string(d.Outcome), d.Rule
	var allowedAt, notBefore *time.Time
	switch d.Outcome {
	case Allowed:
		status, allowedAt = "reserved", &c.At
		if note != "" {
			rowReason = "throttle.time_zone_default"
		}
	case Deferred:
		notBefore = &d.NotBefore
	}
	if d.Outcome == Expired {
		notBefore = &d.NotBefore
	}
	var requested *time.Time
	if !c.RequestedAt.IsZero() {
		requested = &c.RequestedAt
	}
	batch = &pgx.Batch{}
	batch.Queue(`
		update touches set status = $2, touch_at = $3, not_before = $4, deadline = $5, reason = $6, updated_at = now()
		where id = $1`, c.TouchID, status, allowedAt, notBefore, deadline, rowReason)
	batch.Queue(`
		insert into throttle_decisions (touch_id, customer_id, decided_at, requested_at, outcome, rule, reason, not_before)
		values ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.TouchID, c.CustomerID, c.At, requested, string(d.Outcome), d.Rule, d.Reason, notBefore)
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return Result{}, fmt.Errorf("throttle: record decision for touch %d: %w", c.TouchID, err)
	}
	return Result{Decision: d, DecidedAt: c.At, Deadline: value(deadline)}, nil
}

func scanPast(row pgx.CollectableRow) (Past, error) {
	var p Past
	var ch, in string
	err := row.Scan(&p.At, &ch, &in)
	p.Channel, p.Intent = channel.Name(ch), channel.Intent(in)
	return p, err
}

// DecisionRow is one recorded throttle decision.
type DecisionRow struct {
	TouchID   int64
	DecidedAt time.Time
	Outcome   Outcome
	Rule      string
	Reason    string
	NotBefore *time.Time
}

// Decisions lists a customer's throttle decisions, oldest first.
func Decisions(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, customerID string) ([]DecisionRow, error) {
	rows, err := db.Query(ctx, `
		select touch_id, decided_at, outcome, rule, reason, not_before from throttle_decisions
		where customer_id = $1 order by id`, customerID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (DecisionRow, error) {
		var d DecisionRow
		var out string
		err := row.Scan(&d.TouchID, &d.DecidedAt, &out, &d.Rule, &d.Reason, &d.NotBefore)
		d.Outcome = Outcome(out)
		return d, err
	})
}

func value(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
