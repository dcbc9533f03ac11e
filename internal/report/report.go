// Package report computes a journey's results from the contact ledger: a
// funnel per step (entered, sent, deferred, blocked or expired and by which rule,
// delivered, opened, clicked, converted, dropped out) and, for journeys with
// a split step, the variants side by side with 95% confidence intervals for
// the difference in send and conversion rates.
//
// Delivered, opened, clicked and converted come from provider events. They
// are read only when the provider_events table exists; Report.Engagement
// says whether any event concerns the journey's touches.
package report

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/outreach-engine/outreach/internal/store"
)

// EventsTable is the table of provider events (touch_id, kind) the
// engagement columns are read from.
const EventsTable = "provider_events"

// engagement maps provider event kinds to the funnel's columns.
var engagement = map[string][]string{
	"delivered": {"delivered"},
	"opened":    {"open", "opened"},
	"clicked":   {"click", "clicked"},
	"converted": {"converted", "conversion", "purchase", "purchased"},
}

// Counts are the funnel's counters, for one step or one variant.
type Counts struct {
	Entered   int `json:"entered"`
	Sent      int `json:"sent"`
	Deferred  int `json:"deferred"`
	Blocked   int `json:"blocked"`
	Expired   int `json:"expired"`
	Failed    int `json:"failed"`
	InFlight  int `json:"in_flight"`
	Delivered int `json:"delivered"`
	Opened    int `json:"opened"`
	Clicked   int `json:"clicked"`
	Converted int `json:"converted"`
}

// RuleCount is how many touches one rule blocked.
type RuleCount struct {
	Rule  string `json:"rule"`
	Count int    `json:"count"`
}

// Step is one send step of the funnel. Counts are journey entries (a
// customer who re-entered counts once per entry).
type Step struct {
	StepID  string `json:"step_id"`
	Channel string `json:"channel"`
	Counts
	BlockedBy []RuleCount `json:"blocked_by,omitempty"`
	// ExpiredBy names the throttle rules whose deferrals ran past the deadline.
	ExpiredBy []RuleCount `json:"expired_by,omitempty"`
	// DroppedOut counts the entries whose latest touch is this step,
	// on every step but the last: they got nothing after it (yet: a
	// journey still waiting before its next touch counts here too).
	DroppedOut int `json:"dropped_out"`
}

// Variant is one arm of a split: Entered is its customers (entries), Sent
// those who were sent at least one touch, Opened/Clicked/Converted those with
// at least one such event.
type Variant struct {
	Name string `json:"variant"`
	Counts
	SendRate       float64 `json:"send_rate"`
	ConversionRate float64 `json:"conversion_rate"`
}

// Comparison is a variant against the control (the first variant by name).
type Comparison struct {
	Variant        string   `json:"variant"`
	Control        string   `json:"control"`
	SendDiff       float64  `json:"send_rate_diff"`
	SendCI         Interval `json:"send_rate_diff_ci95"`
	SendWald       Interval `json:"send_rate_diff_wald95"`
	ConversionDiff float64  `json:"conversion_rate_diff"`
	ConversionCI   Interval `json:"conversion_rate_diff_ci95"`
	ConversionWald Interval `json:"conversion_rate_diff_wald95"`
}

// Report is a journey's results.
type Report struct {
	Journey  string `json:"journey"`
	Versions []int  `json:"versions"`
	// Entries counts journey entries that reached at least one send step.
	Entries int `json:"entries"`
	// Engagement is true when provider events exist for the journey's touches.
	Engagement  bool         `json:"engagement_data"`
	Steps       []Step       `json:"steps"`
	Variants    []Variant    `json:"variants,omitempty"`
	Comparisons []Comparison `json:"comparisons,omitempty"`
}

// Load computes the report of one journey.
func Load(ctx context.Context, db store.DB, journey string) (Report, error) {
	r := Report{Journey: journey, Steps: []Step{}}
	if err := db.QueryRow(ctx, `
		select count(distinct (workflow_id, entry_id)), coalesce(array_agg(distinct journey_version), '{}')
		from touches where journey = $1`, journey).Scan(&r.Entries, &r.Versions); err != nil {
		return r, fmt.Errorf("report %s: %w", journey, err)
	}
	slices.Sort(r.Versions)
	table, err := hasEventsTable(ctx, db)
	if err != nil {
		return r, err
	}
	if table {
		if err := db.QueryRow(ctx, `select exists (select 1 from `+EventsTable+` e
			join touches t on t.id = e.touch_id where t.journey = $1)`, journey).Scan(&r.Engagement); err != nil {
			return r, fmt.Errorf("report %s: %w", journey, err)
		}
	}
	if err := r.loadSteps(ctx, db, table); err != nil {
		return r, fmt.Errorf("report %s: %w", journey, err)
	}
	if err := r.loadVariants(ctx, db, table); err != nil {
		return r, fmt.Errorf("report %s: variants: %w", journey, err)
	}
	return r, nil
}

// hasEventsTable reports whether the provider events table exists in the
// schema in use, with the columns the report reads.
func hasEventsTable(ctx context.Context, db store.DB) (bool, error) {
	var n int
	err := db.QueryRow(ctx, `
		select count(*) from information_schema.columns
		where table_schema = current_schema() and table_name = $1 and column_name in ('touch_id', 'kind')`,
		EventsTable).Scan(&n)
	return n == 2, err
}

// engagementSQL adds the four event columns to a query over touches t, one
// flag per touch; "false" when there is no events table.
func engagementSQL(present bool) string {
	if !present {
		return `false as delivered, false as opened, false as clicked, false as converted`
	}
	cols := ""
	for i, col := range []string{"delivered", "opened", "clicked", "converted"} {
		if i > 0 {
			cols += ", "
		}
		// The kinds are constants of this package, not input.
		cols += fmt.Sprintf(`exists (select 1 from `+EventsTable+` e where e.touch_id = t.id and e.kind = any('%s'::text[])) as %s`,
			pgArray(engagement[col]), col)
	}
	return cols
}

func pgArray(items []string) string {
	s := "{"
	for i, it := range items {
		if i > 0 {
			s += ","
		}
		s += it
	}
	return s + "}"
}

func (r *Report) loadSteps(ctx context.Context, db store.DB, events bool) error {
	rows, err := db.Query(ctx, `
		with t as (
			select t.id, t.workflow_id, t.entry_id, t.step_id, t.channel, t.status, t.reason, `+engagementSQL(events)+`
			from touches t where t.journey = $1
		), last as (
			select distinct on (workflow_id, entry_id) workflow_id, entry_id, step_id
			from t order by workflow_id, entry_id, id desc
		)
		select s.step_id, min(s.channel),
			count(distinct (s.workflow_id, s.entry_id)),
			count(*) filter (where s.status = 'sent'),
			count(*) filter (where s.status = 'deferred'),
			count(*) filter (where s.status = 'blocked'),
			count(*) filter (where s.status = 'expired'),
			count(*) filter (where s.status = 'failed'),
			count(*) filter (where s.status in ('reserved', 'sending')),
			count(*) filter (where s.delivered), count(*) filter (where s.opened),
			count(*) filter (where s.clicked), count(*) filter (where s.converted),
			(select count(*) from last l where l.step_id = s.step_id)
		from t s group by s.step_id order by min(s.id)`, r.Journey)
	if err != nil {
		return err
	}
	r.Steps, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Step, error) {
		var s Step
		err := row.Scan(&s.StepID, &s.Channel, &s.Entered, &s.Sent, &s.Deferred, &s.Blocked, &s.Expired, &s.Failed, &s.InFlight,
			&s.Delivered, &s.Opened, &s.Clicked, &s.Converted, &s.DroppedOut)
		return s, err
	})
	if err != nil {
		return err
	}
	if n := len(r.Steps); n > 0 {
		r.Steps[n-1].DroppedOut = 0
	}
	rows, err = db.Query(ctx, `
		select step_id, status, reason, count(*) from touches
		where journey = $1 and status in ('blocked', 'expired') group by step_id, status, reason`, r.Journey)
	if err != nil {
		return err
	}
	var step, status, rule string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&step, &status, &rule, &n}, func() error {
		for i := range r.Steps {
			if r.Steps[i].StepID != step {
				continue
			}
			if status == "expired" {
				r.Steps[i].ExpiredBy = append(r.Steps[i].ExpiredBy, RuleCount{rule, n})
			} else {
				r.Steps[i].BlockedBy = append(r.Steps[i].BlockedBy, RuleCount{rule, n})
			}
		}
		return nil
	})
	for i := range r.Steps {
		b := r.Steps[i].BlockedBy
		sort.Slice(b, func(i, j int) bool {
			return b[i].Count > b[j].Count || (b[i].Count == b[j].Count && b[i].Rule < b[j].Rule)
		})
	}
	return err
}

func (r *Report) loadVariants(ctx context.Context, db store.DB, events bool) error {
	rows, err := db.Query(ctx, `
		with t as (
			select t.id, t.workflow_id, t.entry_id, t.status, t.variant, `+engagementSQL(events)+`
			from touches t where t.journey = $1
		), entry as (
			select workflow_id, entry_id, max(variant) as variant,
				bool_or(status = 'sent') as sent, bool_or(status = 'deferred') as deferred,
				bool_or(status = 'blocked') as blocked, bool_or(status = 'expired') as expired,
				bool_or(status = 'failed') as failed,
				bool_or(status in ('reserved', 'sending')) as in_flight,
				bool_or(delivered) as delivered, bool_or(opened) as opened,
				bool_or(clicked) as clicked, bool_or(converted) as converted
			from t group by workflow_id, entry_id
		)
		select variant, count(*),
			count(*) filter (where sent), count(*) filter (where deferred), count(*) filter (where blocked),
			count(*) filter (where expired), count(*) filter (where failed), count(*) filter (where in_flight),
			count(*) filter (where delivered), count(*) filter (where opened),
			count(*) filter (where clicked), count(*) filter (where converted)
		from entry where variant is not null group by variant order by variant`, r.Journey)
	if err != nil {
		return err
	}
	r.Variants, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Variant, error) {
		var v Variant
		err := row.Scan(&v.Name, &v.Entered, &v.Sent, &v.Deferred, &v.Blocked, &v.Expired, &v.Failed, &v.InFlight,
			&v.Delivered, &v.Opened, &v.Clicked, &v.Converted)
		v.SendRate = float64(v.Sent) / float64(v.Entered)
		v.ConversionRate = float64(v.Converted) / float64(v.Entered)
		return v, err
	})
	if err != nil {
		return err
	}
	r.Comparisons = Compare(r.Variants)
	return nil
}

// sortRules orders rule counts by count, then name.
func sortRules(b []RuleCount) {
	sort.Slice(b, func(i, j int) bool {
		return b[i].Count > b[j].Count || (b[i].Count == b[j].Count && b[i].Rule < b[j].Rule)
	})
}

// Compare sets every variant against the first one (the control).
func Compare(vs []Variant) []Comparison {
	var out []Comparison
	for i := 1; i < len(vs); i++ {
		v, c := vs[i], vs[0]
		out = append(out, Comparison{
			Variant: v.Name, Control: c.Name,
			SendDiff:       v.SendRate - c.SendRate,
			SendCI:         Newcombe(v.Sent, v.Entered, c.Sent, c.Entered, z95),
			SendWald:       Wald(v.Sent, v.Entered, c.Sent, c.Entered, z95),
			ConversionDiff: v.ConversionRate - c.ConversionRate,
			ConversionCI:   Newcombe(v.Converted, v.Entered, c.Converted, c.Entered, z95),
			ConversionWald: Wald(v.Converted, v.Entered, c.Converted, c.Entered, z95),
		})
	}
	return out
}
