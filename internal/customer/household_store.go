package customer

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/outreach-engine/outreach/internal/store"
)

// upsertHousehold writes the household (when given) and replaces the
// purchases (when given) inside the customer's upsert transaction. Absent
// fields leave what is stored alone, so an import of contact details only
// never forgets what the customer told us.
func upsertHousehold(ctx context.Context, tx pgx.Tx, c Customer) error {
	if c.Household != nil {
		years := c.Household.ChildrenBirthYears
		if years == nil {
			years = []int{}
		}
		h, err := json.Marshal(Household{ChildrenBirthYears: years})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `update customers set household = $2 where id = $1`, c.ID, h); err != nil {
			return fmt.Errorf("household: %w", err)
		}
	}
	if c.Purchases == nil {
		return nil
	}
	if _, err := tx.Exec(ctx, `delete from purchases where customer_id = $1`, c.ID); err != nil {
		return fmt.Errorf("purchases: %w", err)
	}
	for _, p := range c.Purchases {
		if _, err := tx.Exec(ctx, `
			insert into purchases (customer_id, order_ref, category, sensitive, amount_cents, ship_to)
			values ($1, $2, $3, $4, $5, $6)`,
			c.ID, p.Order, p.Category, p.Sensitive, p.AmountCents, string(p.ShipTo)); err != nil {
			return fmt.Errorf("purchase %s/%s: %w", p.Order, p.Category, err)
		}
	}
	return nil
}

func household(ctx context.Context, db store.DB, id string) (*Household, error) {
	var raw []byte
	if err := db.QueryRow(ctx, `select household from customers where id = $1`, id).Scan(&raw); err != nil {
		return nil, fmt.Errorf("customer %s: household: %w", id, err)
	}
	if raw == nil {
		return nil, nil
	}
	var h Household
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("customer %s: household: %w", id, err)
	}
	return &h, nil
}

// Purchases lists a customer's purchases by order and category.
func Purchases(ctx context.Context, db store.DB, id string) ([]Purchase, error) {
	rows, err := db.Query(ctx, `
		select order_ref, category, sensitive, amount_cents, ship_to
		from purchases where customer_id = $1 order by order_ref, category`, id)
	if err != nil {
		return nil, fmt.Errorf("customer %s: purchases: %w", id, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Purchase, error) {
		var p Purchase
		var ship string
		err := row.Scan(&p.Order, &p.Category, &p.Sensitive, &p.AmountCents, &ship)
		p.ShipTo = ShipTo(ship)
		return p, err
	})
}
