package prefs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/store"
)

// Sources of a change, as the audit trail records them.
const (
	SourcePreferenceCenter = "preference_center"
	SourceOneClick         = "one_click_unsubscribe"
	SourceUnsubscribePage  = "unsubscribe_page"
	SourceErasure          = "erasure"
)

// TxBeginner is a pool or connection that can start a transaction.
type TxBeginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Load reads a customer's preferences. A customer who never saved any gets
// the defaults: frequency Any, no quiet time, the consents and interests on
// file.
func Load(ctx context.Context, db store.DB, customerID string) (Preferences, error) {
	p := Preferences{Frequency: Any, Consents: map[channel.Name]bool{}}
	var freq, qs, qe *string
	err := db.QueryRow(ctx, `
		select c.interests, p.max_frequency, to_char(p.quiet_start, 'HH24:MI'), to_char(p.quiet_end, 'HH24:MI'), p.updated_at
		from customers c left join customer_preferences p on p.customer_id = c.id
		where c.id = $1`, customerID).Scan(&p.Interests, &freq, &qs, &qe, &p.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Preferences{}, fmt.Errorf("preferences: customer %s not found", customerID)
	}
	if err != nil {
		return Preferences{}, fmt.Errorf("load preferences of %s: %w", customerID, err)
	}
	if freq != nil {
		p.Frequency = Frequency(*freq)
	}
	if qs != nil && qe != nil {
		p.Quiet = Quiet{Start: *qs, End: *qe}
	}
	rows, err := db.Query(ctx, `select channel, granted from consents where customer_id = $1`, customerID)
	if err != nil {
		return Preferences{}, err
	}
	var ch string
	var granted bool
	if _, err := pgx.ForEachRow(rows, []any{&ch, &granted}, func() error {
		p.Consents[channel.Name(ch)] = granted
		return nil
	}); err != nil {
		return Preferences{}, err
	}
	rows, err = db.Query(ctx, `
		select channel, intent, source, created_at from suppressions
		where customer_id = $1 order by channel, intent`, customerID)
	if err != nil {
		return Preferences{}, err
	}
	p.Suppressions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Suppression, error) {
		var s Suppression
		var c, i string
		err := r.Scan(&c, &i, &s.Source, &s.CreatedAt)
		s.Channel, s.Intent = channel.Name(c), channel.Intent(i)
		return s, err
	})
	return p, err
}

// Validate checks a set of preferences a customer submitted. allowed is the
// set of interest ids that may be chosen (the catalogue and whatever the
// customer already has).
func (p Preferences) Validate(allowed []string) error {
	if _, err := ParseFrequency(string(p.Frequency)); err != nil {
		return err
	}
	if err := p.Quiet.Validate(); err != nil {
		return err
	}
	for ch := range p.Consents {
		if !ch.Valid() {
			return fmt.Errorf("unknown channel %q", ch)
		}
	}
	for _, in := range p.Interests {
		if !slices.Contains(allowed, in) {
			return fmt.Errorf("unknown interest %q", in)
		}
	}
	return nil
}

// Save stores the customer's choices (consents, frequency, quiet time and
// interests) in one transaction and records each changed field with the time
// and source. It returns the changes; none when nothing changed. The new
// choices hold from the next touch on, in every running journey.
func Save(ctx context.Context, pool TxBeginner, customerID string, next Preferences, source string) ([]Change, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// Lock the customer row so two saves at once are applied one after the other.
	var erased *time.Time
	if err := tx.QueryRow(ctx, `select erased_at from customers where id = $1 for update`, customerID).Scan(&erased); err != nil {
		return nil, fmt.Errorf("save preferences of %s: %w", customerID, err)
	}
	if erased != nil {
		return nil, fmt.Errorf("save preferences of %s: the customer's data was erased", customerID)
	}
	old, err := Load(ctx, tx, customerID)
	if err != nil {
		return nil, err
	}
	changes := Diff(old, next)
	if len(changes) == 0 {
		return nil, nil
	}
	for _, ch := range channel.All {
		if old.Consents[ch] == next.Consents[ch] {
			continue
		}
		if _, err := tx.Exec(ctx, `
			insert into consents (customer_id, channel, granted, source) values ($1, $2, $3, $4)
			on conflict (customer_id, channel) do update set
				granted = excluded.granted, source = excluded.source, updated_at = now()`,
			customerID, string(ch), next.Consents[ch], source); err != nil {
			return nil, fmt.Errorf("save consent %s: %w", ch, err)
		}
	}
	var qs, qe *string
	if next.Quiet.Set() {
		qs, qe = &next.Quiet.Start, &next.Quiet.End
	}
	if _, err := tx.Exec(ctx, `
		insert into customer_preferences (customer_id, max_frequency, quiet_start, quiet_end, updated_at)
		values ($1, $2, $3::time, $4::time, now())
		on conflict (customer_id) do update set max_frequency = excluded.max_frequency,
			quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end, updated_at = now()`,
		customerID, string(next.Frequency), qs, qe); err != nil {
		return nil, fmt.Errorf("save preferences: %w", err)
	}
	interests := sortedCopy(next.Interests)
	if interests == nil {
		interests = []string{}
	}
	if _, err := tx.Exec(ctx, `update customers set interests = $2, updated_at = now() where id = $1`,
		customerID, interests); err != nil {
		return nil, fmt.Errorf("save interests: %w", err)
	}
	if err := record(ctx, tx, customerID, source, changes); err != nil {
		return nil, err
	}
	return changes, tx.Commit(ctx)
}

func record(ctx context.Context, db store.DB, customerID, source string, changes []Change) error {
	for _, c := range changes {
		if _, err := db.Exec(ctx, `
			insert into preference_changes (customer_id, source, field, old_value, new_value)
			values ($1, $2, $3, $4, $5)`, customerID, source, c.Field, c.Old, c.New); err != nil {
			return fmt.Errorf("record preference change: %w", err)
		}
	}
	return nil
}

// Suppress stops one intent on one channel for a customer, at once, and
// records it. It reports whether the suppression is new; suppressing twice is
// harmless (a mail provider may POST the same one-click unsubscribe again).
func Suppress(ctx context.Context, pool TxBeginner, customerID string, ch channel.Name, in channel.Intent, source string) (bool, error) {
	if !ch.Valid() || !in.Valid() {
		return false, fmt.Errorf("suppress: bad channel %q or intent %q", ch, in)
	}
	var added bool
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			insert into suppressions (customer_id, channel, intent, source) values ($1, $2, $3, $4)
			on conflict do nothing`, customerID, string(ch), string(in), source)
		if err != nil {
			return fmt.Errorf("suppress %s %s: %w", ch, in, err)
		}
		if added = tag.RowsAffected() == 1; !added {
			return nil
		}
		return record(ctx, tx, customerID, source, []Change{{Field: SuppressionRule(ch, in), Old: "no", New: "yes"}})
	})
	return added, err
}

// Lift removes a suppression and records it. It reports whether there was one.
func Lift(ctx context.Context, pool TxBeginner, customerID string, ch channel.Name, in channel.Intent, source string) (bool, error) {
	var removed bool
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `delete from suppressions where customer_id = $1 and channel = $2 and intent = $3`,
			customerID, string(ch), string(in))
		if err != nil {
			return fmt.Errorf("lift %s %s: %w", ch, in, err)
		}
		if removed = tag.RowsAffected() == 1; !removed {
			return nil
		}
		return record(ctx, tx, customerID, source, []Change{{Field: SuppressionRule(ch, in), Old: "yes", New: "no"}})
	})
	return removed, err
}

// FrequencyCap returns the customer's own cap on promotional touches: at most
// maxTouches in any window. ok is false when the customer chose none (or never
// saved preferences); maxTouches 0 means no promotional touch at all. The
// global throttle can fold this into its own check.
func FrequencyCap(ctx context.Context, db store.DB, customerID string) (maxTouches int, window time.Duration, ok bool, err error) {
	var f string
	err = db.QueryRow(ctx, `select max_frequency from customer_preferences where customer_id = $1`, customerID).Scan(&f)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("frequency cap of %s: %w", customerID, err)
	}
	maxTouches, window, ok = Frequency(f).Cap()
	return maxTouches, window, ok, nil
}

// Touch is what Guard needs to know about the touch being decided.
type Touch struct {
	ID         int64
	CustomerID string
	Channel    channel.Name
	Intent     channel.Intent
}

// Guard returns the rule that stops the touch, or "" when the customer's own
// choices let it through: a suppression of its channel and intent
// ("suppression.email.promotional"), then, for promotional touches, the
// chosen frequency counted over the contact ledger ("preference.frequency").
// It reads Postgres on every call, so a change in the preference center holds
// from the next touch of every running journey.
func Guard(ctx context.Context, db store.DB, t Touch) (string, error) {
	var (
		suppressed bool
		freq       *string
	)
	if err := db.QueryRow(ctx, `
		select exists(select 1 from suppressions where customer_id = $1 and channel = $2 and intent = $3),
		       (select max_frequency from customer_preferences where customer_id = $1)`,
		t.CustomerID, string(t.Channel), string(t.Intent)).Scan(&suppressed, &freq); err != nil {
		return "", fmt.Errorf("check the customer's choices: %w", err)
	}
	if suppressed {
		return SuppressionRule(t.Channel, t.Intent), nil
	}
	if t.Intent != channel.Promotional || freq == nil {
		return "", nil
	}
	maxTouches, window, ok := Frequency(*freq).Cap()
	switch {
	case !ok:
		return "", nil
	case maxTouches == 0:
		return RuleFrequency, nil
	}
	var recent int
	if err := db.QueryRow(ctx, `
		select count(*) from touches
		where customer_id = $1 and intent = 'promotional' and id <> $2
		  and status in ('sending', 'sent') and coalesce(sent_at, updated_at) > now() - $3::interval`,
		t.CustomerID, t.ID, window).Scan(&recent); err != nil {
		return "", fmt.Errorf("count recent promotional touches: %w", err)
	}
	if recent >= maxTouches {
		return RuleFrequency, nil
	}
	return "", nil
}
