package policydb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/internal/policy"
	"github.com/outreach-engine/outreach/internal/store"
)

// StepPreview is what one send step would do.
type StepPreview struct {
	StepID   string          `json:"step_id"`
	Decision policy.Decision `json:"decision"`
}

// CustomerPreview is what a journey would do for one customer.
type CustomerPreview struct {
	CustomerID string `json:"customer_id"`
	// Entered is false for accounts that never enter a journey; Enter says why.
	Entered bool            `json:"entered"`
	Enter   policy.Decision `json:"enter"`
	Steps   []StepPreview   `json:"steps,omitempty"`
}

// Total counts the decisions of one rule with one outcome.
type Total struct {
	RuleID  string         `json:"rule_id"`
	Outcome policy.Outcome `json:"outcome"`
	Count   int            `json:"count"`
}

// Report is a dry run of a journey over some customers.
type Report struct {
	Journey   string            `json:"journey"`
	Version   int               `json:"version"`
	Customers []CustomerPreview `json:"customers"`
	Totals    []Total           `json:"totals"`
}

// Preview runs the rules of every send step of def for each customer, as the
// engine will when the journey runs, without reserving or sending anything:
// it only reads. Customers who do not exist are an error.
func Preview(ctx context.Context, db store.DB, def journey.Definition, customerIDs []string, now time.Time) (Report, error) {
	r := Report{Journey: def.Name, Version: def.Version, Customers: []CustomerPreview{}}
	counts := map[Total]int{}
	for _, id := range customerIDs {
		_, f, err := Load(ctx, db, id, now)
		if err != nil {
			return r, err
		}
		cp := CustomerPreview{CustomerID: id, Enter: policy.Enter(f)}
		cp.Entered = cp.Enter.Outcome == policy.Allow
		if !cp.Entered {
			counts[Total{RuleID: cp.Enter.RuleID, Outcome: policy.Block}]++
			r.Customers = append(r.Customers, cp)
			continue
		}
		for _, s := range def.Steps {
			if s.Kind != journey.StepSend {
				continue
			}
			d := policy.Decide(f, policy.Plan(s.Channel, s.Intent, def.Templates[s.Template]))
			cp.Steps = append(cp.Steps, StepPreview{StepID: s.ID, Decision: d})
			counts[Total{RuleID: d.RuleID, Outcome: d.Outcome}]++
		}
		r.Customers = append(r.Customers, cp)
	}
	for t, n := range counts {
		t.Count = n
		r.Totals = append(r.Totals, t)
	}
	slices.SortFunc(r.Totals, func(a, b Total) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.RuleID, b.RuleID), cmp.Compare(a.Outcome, b.Outcome))
	})
	return r, nil
}

// AllCustomerIDs lists every account in the customer table, in id order,
// including those that are not customers: a preview shows them kept out.
func AllCustomerIDs(ctx context.Context, db store.DB) ([]string, error) {
	rows, err := db.Query(ctx, `select id from customers order by id`)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err == nil && len(ids) == 0 {
		err = errors.New("there are no customers: import some with `starter customers import`")
	}
	if err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	return ids, nil
}
