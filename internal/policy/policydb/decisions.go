package policydb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/policy"
	"github.com/outreach-engine/outreach/internal/store"
)

// Record stores the decision about a touch and applies it to the ledger row
// in the same transaction: a blocked touch becomes blocked with the rule id
// as its reason, a changed touch takes its final channel and the rule id. A
// touch already decided keeps its first decision, which is returned.
func Record(ctx context.Context, db TxDB, touchID int64, d policy.Decision) (policy.Decision, error) {
	detail, err := json.Marshal(d)
	if err != nil {
		return d, err
	}
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			insert into decisions (touch_id, outcome, rule_id, reason, planned_channel, planned_surface,
			                       final_channel, final_surface, detail)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			on conflict (touch_id) do nothing`,
			touchID, string(d.Outcome), d.RuleID, d.Reason, string(d.Planned.Channel), string(d.Planned.Surface),
			string(d.Final.Channel), string(d.Final.Surface), detail)
		if err != nil {
			return fmt.Errorf("record decision for touch %d: %w", touchID, err)
		}
		if tag.RowsAffected() == 0 {
			return errAlreadyDecided
		}
		switch d.Outcome {
		case policy.Block:
			return ledger.MarkBlocked(ctx, tx, touchID, d.RuleID)
		case policy.Change:
			_, err := tx.Exec(ctx, `update touches set channel = $2, reason = $3, updated_at = now() where id = $1`,
				touchID, string(d.Final.Channel), d.RuleID)
			return err
		}
		return nil
	})
	if errors.Is(err, errAlreadyDecided) {
		prev, ok, err := Recorded(ctx, db, touchID)
		if err == nil && !ok {
			err = fmt.Errorf("touch %d: decision vanished", touchID)
		}
		return prev, err
	}
	return d, err
}

// TxDB is a store.DB that can begin a transaction (a pool or a connection).
type TxDB interface {
	store.DB
	Begin(ctx context.Context) (pgx.Tx, error)
}

var errAlreadyDecided = errors.New("touch already decided")

// Recorded returns the decision recorded for a touch, if any.
func Recorded(ctx context.Context, db store.DB, touchID int64) (policy.Decision, bool, error) {
	var raw []byte
	err := db.QueryRow(ctx, `select detail from decisions where touch_id = $1`, touchID).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return policy.Decision{}, false, nil
	}
	if err != nil {
		return policy.Decision{}, false, fmt.Errorf("decision for touch %d: %w", touchID, err)
	}
	var d policy.Decision
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, false, fmt.Errorf("decision for touch %d: %w", touchID, err)
	}
	return d, true, nil
}

// Explained is one touch of a customer with the decision that settled it.
type Explained struct {
	TouchID        int64          `json:"touch_id"`
	At             time.Time      `json:"at"`
	Journey        string         `json:"journey"`
	StepID         string         `json:"step_id"`
	Status         ledger.Status  `json:"status"`
	Intent         channel.Intent `json:"intent"`
	Outcome        policy.Outcome `json:"outcome,omitempty"`
	RuleID         string         `json:"rule_id"`
	Reason         string         `json:"reason"`
	PlannedChannel channel.Name   `json:"planned_channel"`
	PlannedSurface policy.Surface `json:"planned_surface,omitempty"`
	FinalChannel   channel.Name   `json:"final_channel"`
	FinalSurface   policy.Surface `json:"final_surface,omitempty"`
	// LedgerReason is the rule the ledger holds for the touch: the
	// throttle's or the customer's own choice when they held back a touch
	// the rules of respect allowed.
	LedgerReason string `json:"ledger_reason,omitempty"`
}

// Explain lists a customer's touches, oldest first, each with its decision.
// Touches without a decision (a failure before any rule ran) carry the
// ledger's own reason.
func Explain(ctx context.Context, db store.DB, customerID string) ([]Explained, error) {
	rows, err := db.Query(ctx, `
		select t.id, t.created_at, t.journey, t.step_id, t.status, t.intent,
		       coalesce(d.outcome, ''), coalesce(d.rule_id, t.reason), coalesce(d.reason, ''),
		       coalesce(d.planned_channel, t.channel), coalesce(d.planned_surface, ''),
		       t.channel, coalesce(d.final_surface, ''), t.reason
		from touches t left join decisions d on d.touch_id = t.id
		where t.customer_id = $1 order by t.created_at, t.id`, customerID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Explained, error) {
		var e Explained
		err := row.Scan(&e.TouchID, &e.At, &e.Journey, &e.StepID, &e.Status, &e.Intent, &e.Outcome,
			&e.RuleID, &e.Reason, &e.PlannedChannel, &e.PlannedSurface, &e.FinalChannel, &e.FinalSurface, &e.LedgerReason)
		return e, err
	})
}
