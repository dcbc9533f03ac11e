// Package audience decides who a bulk operation is for: one customer, every
// customer, the ids in a list file, or a segment (a named, parameterized
// filter over customer data). Whatever the source, accounts that are not
// customers (internal, subsidiary, affiliate) are never part of an audience.
package audience

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/store"
)

// Audience is a resolved set of customer ids, in id order.
type Audience struct {
	// Source says where the audience came from, e.g. "segment lapsed (days=120)".
	Source string
	IDs    []string
	// Problems are the list lines that were left out, and why.
	Problems []Problem
}

// Problem is one list line that is not part of the audience.
type Problem struct {
	Line int
	ID   string
	Why  string
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %s: %s", p.Line, p.ID, p.Why) }

// Sample returns up to n ids spread evenly over the audience, so a preview
// is not just the first ids in order.
func (a Audience) Sample(n int) []string {
	if n <= 0 || len(a.IDs) == 0 {
		return nil
	}
	if len(a.IDs) <= n {
		return append([]string(nil), a.IDs...)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = a.IDs[i*len(a.IDs)/n]
	}
	return out
}

// All is every customer.
func All(ctx context.Context, db store.DB) (Audience, error) {
	ids, err := customer.JourneyEligibleIDs(ctx, db)
	if err != nil {
		return Audience{}, err
	}
	return Audience{Source: "all customers", IDs: ids}, nil
}

// erased stands for the account type of a customer erased at their request:
// like a non-customer account, they never enter a journey.
const erased = "erased"

const accountOrErased = `case when erased_at is not null then 'erased' else account_type end`

// One is a single customer; an unknown id or a non-customer account is an error.
func One(ctx context.Context, db store.DB, id string) (Audience, error) {
	var acct string
	err := db.QueryRow(ctx, `select `+accountOrErased+` from customers where id = $1`, id).Scan(&acct)
	if errors.Is(err, pgx.ErrNoRows) {
		return Audience{}, fmt.Errorf("%w: %s", customer.ErrNotFound, id)
	}
	if err != nil {
		return Audience{}, err
	}
	if acct == erased {
		return Audience{}, fmt.Errorf("%s was erased at the customer's request: it never enters a journey", id)
	}
	if acct != string(customer.AccountCustomer) {
		return Audience{}, fmt.Errorf("%s is not a customer (account type %s): only customers enter journeys", id, acct)
	}
	return Audience{Source: "customer " + id, IDs: []string{id}}, nil
}

// ListEntry is one id of a list file with its line number.
type ListEntry struct {
	Line int
	ID   string
}

// ParseList reads a list file: one customer id per line; blank lines and
// lines starting with # are ignored, as is anything after a # on a line.
// A repeated id is reported as a problem and kept once.
func ParseList(r io.Reader) ([]ListEntry, []Problem, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var (
		entries  []ListEntry
		problems []Problem
		seen     = map[string]int{}
	)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		id := strings.TrimSpace(line)
		if id == "" {
			continue
		}
		if strings.ContainsAny(id, " \t,;") {
			problems = append(problems, Problem{n, id, "one id per line, without separators"})
			continue
		}
		if first, dup := seen[id]; dup {
			problems = append(problems, Problem{n, id, fmt.Sprintf("repeats line %d", first)})
			continue
		}
		seen[id] = n
		entries = append(entries, ListEntry{n, id})
	}
	return entries, problems, sc.Err()
}

// FromList resolves a list file against the customer table: unknown ids and
// accounts that are not customers are reported by line and left out.
func FromList(ctx context.Context, db store.DB, name string, r io.Reader) (Audience, error) {
	entries, problems, err := ParseList(r)
	if err != nil {
		return Audience{}, fmt.Errorf("read %s: %w", name, err)
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	rows, err := db.Query(ctx, `select id, `+accountOrErased+` from customers where id = any($1)`, ids)
	if err != nil {
		return Audience{}, err
	}
	types := map[string]string{}
	var id, acct string
	if _, err := pgx.ForEachRow(rows, []any{&id, &acct}, func() error { types[id] = acct; return nil }); err != nil {
		return Audience{}, err
	}
	a := Audience{Source: "list " + name}
	for _, e := range entries {
		switch acct, ok := types[e.ID]; {
		case !ok:
			problems = append(problems, Problem{e.Line, e.ID, "no such customer"})
		case acct == erased:
			problems = append(problems, Problem{e.Line, e.ID, "erased at the customer's request: left out"})
		case acct != string(customer.AccountCustomer):
			problems = append(problems, Problem{e.Line, e.ID, acct + " account, not a customer: left out"})
		default:
			a.IDs = append(a.IDs, e.ID)
		}
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
	a.Problems = problems
	slices.Sort(a.IDs)
	return a, nil
}
