package prefs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/outreach-engine/outreach/internal/audience"
	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/prefs"
	"github.com/outreach-engine/outreach/internal/testenv"
)

func seed(t *testing.T, pool *pgxpool.Pool, id string) {
	t.Helper()
	c := customer.Customer{
		ID: id, Name: "Marguerite Perey", Email: "marguerite.perey@example.org", Phone: "+33612345678",
		Address:  &customer.Address{Line1: "9 Rue Quelconque", City: "Montbeliard", PostalCode: "25200", Country: "FR"},
		TimeZone: "Europe/Paris", Interests: []string{"gardening"},
		Consents:   map[channel.Name]bool{channel.Email: true, channel.SMS: true, channel.Mail: true},
		Attributes: map[string]any{"orders": 2, "favourite_shop": "Montbeliard centre"},
	}
	c.Normalize()
	require.NoError(t, c.Validate())
	require.NoError(t, customer.Upsert(context.Background(), pool, c))
}

// touch records a ledger row in the given status, as Deliver would.
func touch(t *testing.T, pool *pgxpool.Pool, id, step string, intent channel.Intent, status ledger.Status) ledger.Touch {
	t.Helper()
	ctx := context.Background()
	tc, err := ledger.Reserve(ctx, pool, ledger.Planned{
		Key:     ledger.Key{WorkflowID: "journey:offers:" + id, EntryID: "run-1", StepKey: step + "#1"},
		Journey: "offers", JourneyVersion: 1, CustomerID: id, StepID: step, Channel: channel.Email, Intent: intent,
	})
	require.NoError(t, err)
	switch status {
	case ledger.Sent:
		require.NoError(t, ledger.MarkSent(ctx, pool, tc.ID, "p-"+step))
	case ledger.Blocked:
		require.NoError(t, ledger.MarkBlocked(ctx, pool, tc.ID, "test"))
	}
	tc.Status = status
	return tc
}

func guard(t *testing.T, pool *pgxpool.Pool, tc ledger.Touch) string {
	t.Helper()
	rule, err := prefs.Guard(context.Background(), pool, prefs.Touch{ID: tc.ID, CustomerID: tc.CustomerID, Channel: tc.Channel, Intent: tc.Intent})
	require.NoError(t, err)
	return rule
}

func TestSaveTakesEffectAndIsAudited(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	ctx := context.Background()
	seed(t, pool, "c-save")

	before, err := prefs.Load(ctx, pool, "c-save")
	require.NoError(t, err)
	assert.Equal(t, prefs.Any, before.Frequency)
	assert.True(t, before.Consents[channel.SMS])

	next := before
	next.Consents = map[channel.Name]bool{channel.Email: true, channel.Mail: true}
	next.Frequency = prefs.Monthly
	next.Quiet = prefs.Quiet{Start: "21:30", End: "07:00"}
	next.Interests = []string{"tennis", "skiing"}
	changes, err := prefs.Save(ctx, pool, "c-save", next, prefs.SourcePreferenceCenter)
	require.NoError(t, err)
	assert.Len(t, changes, 4)

	after, err := prefs.Load(ctx, pool, "c-save")
	require.NoError(t, err)
	assert.False(t, after.Consents[channel.SMS])
	assert.Equal(t, prefs.Monthly, after.Frequency)
	assert.Equal(t, prefs.Quiet{Start: "21:30", End: "07:00"}, after.Quiet)
	assert.Equal(t, []string{"skiing", "tennis"}, after.Interests)

	// The engine reads the same rows: the SMS consent is gone for Deliver too.
	c, err := customer.Get(ctx, pool, "c-save")
	require.NoError(t, err)
	assert.False(t, c.Consents[channel.SMS])

	var source, field, oldV, newV string
	require.NoError(t, pool.QueryRow(ctx, `select source, field, old_value, new_value from preference_changes
		where customer_id = 'c-save' and field = 'max_frequency'`).Scan(&source, &field, &oldV, &newV))
	assert.Equal(t, []string{"preference_center", "any", "monthly"}, []string{source, oldV, newV})
	var consentSource string
	require.NoError(t, pool.QueryRow(ctx, `select source from consents where customer_id = 'c-save' and channel = 'sms'`).Scan(&consentSource))
	assert.Equal(t, "preference_center", consentSource)

	again, err := prefs.Save(ctx, pool, "c-save", after, prefs.SourcePreferenceCenter)
	require.NoError(t, err)
	assert.Empty(t, again, "saving the same choices changes nothing and records nothing")
}

func TestGuardAppliesSuppressionsAndFrequency(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	ctx := context.Background()
	seed(t, pool, "c-guard")

	promo := touch(t, pool, "c-guard", "offer-1", channel.Promotional, ledger.Reserved)
	receipt := touch(t, pool, "c-guard", "receipt", channel.Transactional, ledger.Reserved)
	assert.Empty(t, guard(t, pool, promo), "no choices saved: nothing of the customer's own blocks it")
	_, _, ok, err := prefs.FrequencyCap(ctx, pool, "c-guard")
	require.NoError(t, err)
	assert.False(t, ok)

	added, err := prefs.Suppress(ctx, pool, "c-guard", channel.Email, channel.Promotional, prefs.SourceOneClick)
	require.NoError(t, err)
	assert.True(t, added)
	added, err = prefs.Suppress(ctx, pool, "c-guard", channel.Email, channel.Promotional, prefs.SourceOneClick)
	require.NoError(t, err)
	assert.False(t, added, "a repeated unsubscribe is not a second change")
	assert.Equal(t, "suppression.email.promotional", guard(t, pool, promo))
	assert.Empty(t, guard(t, pool, receipt), "transactional email still flows")
	removed, err := prefs.Lift(ctx, pool, "c-guard", channel.Email, channel.Promotional, prefs.SourcePreferenceCenter)
	require.NoError(t, err)
	assert.True(t, removed)
	assert.Empty(t, guard(t, pool, promo))

	// Weekly: one promotional touch sent in the last 7 days holds the next one back.
	p, err := prefs.Load(ctx, pool, "c-guard")
	require.NoError(t, err)
	p.Frequency = prefs.Weekly
	_, err = prefs.Save(ctx, pool, "c-guard", p, prefs.SourcePreferenceCenter)
	require.NoError(t, err)
	maxTouches, window, ok, err := prefs.FrequencyCap(ctx, pool, "c-guard")
	require.NoError(t, err)
	assert.Equal(t, []any{1, 7 * 24 * time.Hour, true}, []any{maxTouches, window, ok})
	assert.Empty(t, guard(t, pool, promo), "nothing sent yet this week")
	touch(t, pool, "c-guard", "offer-0", channel.Promotional, ledger.Sent)
	assert.Equal(t, prefs.RuleFrequency, guard(t, pool, promo))
	assert.Empty(t, guard(t, pool, receipt), "the frequency is about offers only")

	// The sent offer is eight days old: a weekly cap lets the next one through, a monthly one does not.
	_, err = pool.Exec(ctx, `update touches set sent_at = now() - interval '8 days' where step_id = 'offer-0'`)
	require.NoError(t, err)
	assert.Empty(t, guard(t, pool, promo))
	p.Frequency = prefs.Monthly
	_, err = prefs.Save(ctx, pool, "c-guard", p, prefs.SourcePreferenceCenter)
	require.NoError(t, err)
	assert.Equal(t, prefs.RuleFrequency, guard(t, pool, promo))

	p.Frequency = prefs.OnRequest
	_, err = prefs.Save(ctx, pool, "c-guard", p, prefs.SourcePreferenceCenter)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `delete from touches where step_id = 'offer-0'`)
	require.NoError(t, err)
	assert.Equal(t, prefs.RuleFrequency, guard(t, pool, promo), "only what I ask for: no offers at all")
}

type cancels struct{ ids []string }

func (c *cancels) CancelWorkflow(_ context.Context, id, _ string) error {
	if id == "journey:finished:c-erase" {
		return serviceerror.NewNotFound("workflow execution already completed")
	}
	c.ids = append(c.ids, id)
	return nil
}

func TestEraseLeavesNoPersonalData(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	ctx := context.Background()
	seed(t, pool, "c-erase")
	seed(t, pool, "c-other")
	_, err := pool.Exec(ctx, `update customers set name = 'Someone Else', email = 'else@example.net', phone = '+15550100099',
		address = '{"line1": "1 Other Road", "city": "Lyon", "postal_code": "69001", "country": "FR"}', attributes = '{}'
		where id = 'c-other'`)
	require.NoError(t, err)
	tc := touch(t, pool, "c-erase", "offer-1", channel.Promotional, ledger.Sent)
	_, err = pool.Exec(ctx, `insert into sandbox_outbox (touch_id, customer_id, channel, recipient, subject, body)
		values ($1, 'c-erase', 'email', 'marguerite.perey@example.org', 'Hello Marguerite', 'Dear Marguerite Perey, 9 Rue Quelconque')`, tc.ID)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `insert into touches (workflow_id, entry_id, step_key, journey, journey_version, customer_id,
		step_id, channel, intent, status) values ('journey:finished:c-erase', 'r', 's#1', 'finished', 1, 'c-erase', 's', 'email', 'transactional', 'sent')`)
	require.NoError(t, err)
	p, err := prefs.Load(ctx, pool, "c-erase")
	require.NoError(t, err)
	p.Frequency, p.Interests = prefs.Weekly, []string{"golf"}
	_, err = prefs.Save(ctx, pool, "c-erase", p, prefs.SourcePreferenceCenter)
	require.NoError(t, err)
	_, err = prefs.Suppress(ctx, pool, "c-erase", channel.Email, channel.Promotional, prefs.SourceOneClick)
	require.NoError(t, err)

	pii := []string{"Marguerite", "Perey", "marguerite.perey@example.org", "+33612345678", "612345678", "Rue Quelconque", "Montbeliard"}
	require.NotEmpty(t, testenv.FindText(t, pool, pii...), "the scan finds the data before erasure")

	var c cancels
	res, err := prefs.Erase(ctx, pool, &c, "c-erase", prefs.SourceErasure)
	require.NoError(t, err)
	assert.Equal(t, []string{"journey:offers:c-erase"}, res.Cancelled, "running journeys cancelled, a finished one skipped")
	assert.Empty(t, testenv.FindText(t, pool, pii...))
	assert.NotEmpty(t, testenv.FindText(t, pool, "else@example.net"), "other customers are untouched")

	counts, err := ledger.CountByStatus(ctx, pool, "offers")
	require.NoError(t, err)
	assert.Equal(t, 1, counts[ledger.Sent], "the anonymous ledger still counts")
	_, err = prefs.Save(ctx, pool, "c-erase", p, prefs.SourcePreferenceCenter)
	assert.ErrorContains(t, err, "erased", "no new preferences for an erased customer")
	_, err = prefs.Erase(ctx, pool, &c, "c-erase", prefs.SourceErasure)
	require.NoError(t, err, "erasing twice is harmless")

	eligible, err := customer.JourneyEligibleIDs(ctx, pool)
	require.NoError(t, err)
	assert.Contains(t, eligible, "c-other")
	assert.NotContains(t, eligible, "c-erase", "an erased customer never enters a journey again")
	_, err = audience.One(ctx, pool, "c-erase")
	assert.ErrorContains(t, err, "erased at the customer's request")
}

// BenchmarkGuard measures the preference check every touch pays: a
// suppression lookup, the frequency choice and a count over the customer's
// recent ledger rows (here 200 touches, one customer of 50).
func BenchmarkGuard(b *testing.B) {
	pool := testenv.Postgres(b)
	ctx := context.Background()
	for i := range 50 {
		id := fmt.Sprintf("c-%02d", i)
		_, err := pool.Exec(ctx, `insert into customers (id, name, time_zone) values ($1, 'B', 'UTC')`, id)
		require.NoError(b, err)
		_, err = pool.Exec(ctx, `insert into customer_preferences (customer_id, max_frequency) values ($1, 'monthly')`, id)
		require.NoError(b, err)
		_, err = pool.Exec(ctx, `
			insert into touches (workflow_id, entry_id, step_key, journey, journey_version, customer_id, step_id,
				channel, intent, status, sent_at)
			select 'journey:bench:' || $1, 'r', 's#' || g, 'bench', 1, $1, 's' || g, 'email',
				case when g % 2 = 0 then 'promotional' else 'transactional' end, 'sent', now() - g * interval '1 day'
			from generate_series(1, 200) g`, id)
		require.NoError(b, err)
	}
	_, err := pool.Exec(ctx, `analyze`)
	require.NoError(b, err)
	t := prefs.Touch{ID: -1, CustomerID: "c-07", Channel: channel.Email, Intent: channel.Promotional}
	b.ResetTimer()
	for b.Loop() {
		rule, err := prefs.Guard(ctx, pool, t)
		if err != nil || rule != prefs.RuleFrequency {
			b.Fatalf("rule %q, err %v", rule, err)
		}
	}
}
