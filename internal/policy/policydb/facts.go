// Package policydb is the I/O side of the rules of respect: it loads the
// facts the pure rules in internal/policy need from Postgres, and records
// and reads back the decisions they make. The engine, `starter preview` and
// `starter why` go through it, so all three see the same decisions.
package policydb

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/policy"
	"github.com/outreach-engine/outreach/internal/store"
)

// LoadFacts loads what the rules know about c (already read from the
// customer table): consents with their source, and purchases.
func LoadFacts(ctx context.Context, db store.DB, c customer.Customer, now time.Time) (policy.Facts, error) {
	f := policy.Facts{
		CustomerID: c.ID, AccountType: string(c.AccountType), Name: c.Name,
		Interests: c.Interests, Consents: map[channel.Name]policy.Consent{},
		Reachable: map[channel.Name]bool{}, Now: now,
	}
	if c.Household != nil {
		f.HouseholdKnown = true
		f.ChildrenBirthYears = append([]int{}, c.Household.ChildrenBirthYears...)
	}
	if c.Address != nil {
		f.MailIsPOBox = c.Address.POBox
	}
	for _, ch := range channel.All {
		f.Reachable[ch] = c.AddressOn(ch) != ""
	}
	rows, err := db.Query(ctx, `select channel, granted, source from consents where customer_id = $1`, c.ID)
	if err != nil {
		return f, fmt.Errorf("customer %s: consents: %w", c.ID, err)
	}
	var ch, source string
	var granted bool
	if _, err := pgx.ForEachRow(rows, []any{&ch, &granted, &source}, func() error {
		f.Consents[channel.Name(ch)] = policy.Consent{Granted: granted, Source: source}
		return nil
	}); err != nil {
		return f, fmt.Errorf("customer %s: consents: %w", c.ID, err)
	}
	ps, err := customer.Purchases(ctx, db, c.ID)
	if err != nil {
		return f, err
	}
	for _, p := range ps {
		f.Purchases = append(f.Purchases, policy.Purchase{
			Order: p.Order, Category: p.Category, Sensitive: p.Sensitive,
			AmountCents: p.AmountCents, ToPOBox: p.ShipTo == customer.ShipPOBox,
		})
	}
	return f, nil
}

// Load reads the customer with the given id and its facts.
func Load(ctx context.Context, db store.DB, customerID string, now time.Time) (customer.Customer, policy.Facts, error) {
	c, err := customer.Get(ctx, db, customerID)
	if err != nil {
		return c, policy.Facts{}, err
	}
	f, err := LoadFacts(ctx, db, c, now)
	return c, f, err
}
