package prefs

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/serviceerror"
)

// Canceller cancels a running workflow; a Temporal client is one.
type Canceller interface {
	CancelWorkflow(ctx context.Context, workflowID, runID string) error
}

// Erasure is what an erasure did.
type Erasure struct {
	// Cancelled lists the journey workflow ids a cancel was requested for.
	Cancelled []string
}

// Erase removes a customer's personal data from Postgres: name, email, phone,
// address, attributes and interests on the customer row, consents,
// preferences and suppressions, the recipient and text of every message in
// the sandbox outbox, and the values in the audit trail. It then cancels the
// customer's journeys (every journey workflow the ledger names for the
// customer; one already finished is skipped). What stays is an id with no
// data and the ledger rows, which hold no personal data and keep the counts.
// Erasing twice is harmless.
func Erase(ctx context.Context, pool TxBeginner, workflows Canceller, customerID string, source string) (Erasure, error) {
	var ids []string
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			update customers set name = '', email = null, phone = null, address = null,
				attributes = '{}', interests = '{}', time_zone = 'UTC',
				erased_at = coalesce(erased_at, now()), updated_at = now()
			where id = $1`, customerID)
		if err != nil {
			return fmt.Errorf("erase customer: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("erase: customer %s not found", customerID)
		}
		for _, q := range []string{
			`delete from consents where customer_id = $1`,
			`delete from customer_preferences where customer_id = $1`,
			`delete from suppressions where customer_id = $1`,
			`update sandbox_outbox set recipient = '', subject = '', body = '' where customer_id = $1`,
			`update preference_changes set old_value = '', new_value = '' where customer_id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, customerID); err != nil {
				return fmt.Errorf("erase: %w", err)
			}
		}
		if err := record(ctx, tx, customerID, source, []Change{{Field: "personal_data", Old: "", New: "erased"}}); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `select distinct workflow_id from touches where customer_id = $1 order by 1`, customerID)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return Erasure{}, err
	}
	out := Erasure{}
	if workflows == nil {
		return out, nil
	}
	var errs []error
	for _, id := range ids {
		err := workflows.CancelWorkflow(ctx, id, "")
		var nf *serviceerror.NotFound
		switch {
		case err == nil:
			out.Cancelled = append(out.Cancelled, id)
		case errors.As(err, &nf):
		default:
			errs = append(errs, fmt.Errorf("cancel journey %s: %w", id, err))
		}
	}
	return out, errors.Join(errs...)
}
