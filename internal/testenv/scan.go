package testenv

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// FindText scans every text-like column (text, varchar, json, jsonb, text[])
// of every table in the pool's schema and returns "table.column" for each
// column where a value contains one of the needles (case-insensitively). It
// is how erasure tests prove nothing personal is left anywhere.
func FindText(t testing.TB, pool *pgxpool.Pool, needles ...string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `
		select c.table_name, c.column_name
		from information_schema.columns c
		join information_schema.tables tb on tb.table_schema = c.table_schema and tb.table_name = c.table_name
		where c.table_schema = current_schema() and tb.table_type = 'BASE TABLE'
		  and (c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb')
		       or (c.data_type = 'ARRAY' and c.udt_name in ('_text', '_varchar')))
		order by 1, 2`)
	if err != nil {
		t.Fatalf("list text columns: %v", err)
	}
	type col struct{ Table, Column string }
	cols, err := pgx.CollectRows(rows, pgx.RowToStructByPos[col])
	if err != nil {
		t.Fatalf("list text columns: %v", err)
	}
	if len(cols) == 0 {
		t.Fatal("no text columns found: is the search path right?")
	}
	var hits []string
	for _, c := range cols {
		for _, n := range needles {
			var found bool
			q := "select exists(select 1 from " + pgx.Identifier{c.Table}.Sanitize() +
				" where strpos(lower(" + pgx.Identifier{c.Column}.Sanitize() + "::text), $1) > 0)"
			if err := pool.QueryRow(ctx, q, strings.ToLower(n)).Scan(&found); err != nil {
				t.Fatalf("scan %s.%s: %v", c.Table, c.Column, err)
			}
			if found {
				hits = append(hits, c.Table+"."+c.Column+" contains "+n)
			}
		}
	}
	return hits
}
