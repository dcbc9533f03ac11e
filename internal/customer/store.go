package customer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/store"
)

// Upsert inserts or replaces a customer and its consents in one transaction.
func Upsert(ctx context.Context, pool interface {
	Begin(context.Context) (pgx.Tx, error)
}, c Customer) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var addr []byte
	if c.Address != nil {
		if addr, err = json.Marshal(c.Address); err != nil {
			return err
		}
	}
	attrs := c.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	interests := c.Interests
	if interests == nil {
		interests = []string{}
	}
	_, err = tx.Exec(ctx, `
		insert into customers (id, name, email, phone, address, time_zone, account_type, interests, attributes)
		values ($1, $2, nullif($3, ''), nullif($4, ''), $5, $6, $7, $8, $9)
		on conflict (id) do update set
			name = excluded.name, email = excluded.email, phone = excluded.phone,
			address = excluded.address, time_zone = excluded.time_zone,
			account_type = excluded.account_type, interests = excluded.interests,
			attributes = excluded.attributes, updated_at = now(),
			phone_invalid = customers.phone_invalid and customers.phone is not distinct from excluded.phone`,
		c.ID, c.Name, c.Email, c.Phone, addr, c.TimeZone, string(c.AccountType), interests, attrs)
	if err != nil {
		return fmt.Errorf("upsert customer %s: %w", c.ID, err)
	}
	if err := upsertHousehold(ctx, tx, c); err != nil {
		return fmt.Errorf("customer %s: %w", c.ID, err)
	}
	for _, ch := range channel.All {
		granted, ok := c.Consents[ch]
		if !ok {
			continue
		}
		if _, err := tx.Exec(ctx, `
			insert into consents (customer_id, channel, granted, source) values ($1, $2, $3, 'import')
			on conflict (customer_id, channel) do update set
				granted = excluded.granted, source = excluded.source, updated_at = now()`,
			c.ID, string(ch), granted); err != nil {
			return fmt.Errorf("consent %s for customer %s: %w", ch, c.ID, err)
		}
	}
	return tx.Commit(ctx)
}

// Get loads one customer with its consents.
func Get(ctx context.Context, db store.DB, id string) (Customer, error) {
	var (
		c     Customer
		addr  []byte
		attrs map[string]any
		email *string
		phone *string
		acct  string
	)
	err := db.QueryRow(ctx, `
		select id, name, email, phone, address, time_zone, account_type, interests, attributes, phone_invalid
		from customers where id = $1`, id).
		Scan(&c.ID, &c.Name, &email, &phone, &addr, &c.TimeZone, &acct, &c.Interests, &attrs, &c.PhoneInvalid)
	if errors.Is(err, pgx.ErrNoRows) {
		return Customer{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Customer{}, fmt.Errorf("load customer %s: %w", id, err)
	}
	if email != nil {
		c.Email = *email
	}
	if phone != nil {
		c.Phone = *phone
	}
	c.AccountType = AccountType(acct)
	c.Attributes = attrs
	if len(addr) > 0 {
		c.Address = &Address{}
		if err := json.Unmarshal(addr, c.Address); err != nil {
			return Customer{}, fmt.Errorf("customer %s: address: %w", id, err)
		}
	}
	if c.Household, err = household(ctx, db, id); err != nil {
		return Customer{}, err
	}
	rows, err := db.Query(ctx, `select channel, granted from consents where customer_id = $1`, id)
	if err != nil {
		return Customer{}, err
	}
	c.Consents = map[channel.Name]bool{}
	var ch string
	var granted bool
	_, err = pgx.ForEachRow(rows, []any{&ch, &granted}, func() error {
		c.Consents[channel.Name(ch)] = granted
		return nil
	})
	return c, err
}

// JourneyEligibleIDs lists the ids of real customers, in id order. Internal,
// subsidiary and affiliate accounts are never returned: they are not
// customers and never enter a journey; nor are customers erased at their
// own request.
func JourneyEligibleIDs(ctx context.Context, db store.DB) ([]string, error) {
	rows, err := db.Query(ctx, `select id from customers where account_type = 'customer' and erased_at is null order by id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
