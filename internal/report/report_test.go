package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/testenv"
)

// touch writes one settled ledger row through the ledger's own functions.
func touch(t *testing.T, pool *pgxpool.Pool, cust, step string, ch channel.Name, status ledger.Status, reason, variant string) int64 {
	t.Helper()
	ctx := context.Background()
	wf := "journey:promo:" + cust
	tc, err := ledger.Reserve(ctx, pool, ledger.Planned{
		Key:     ledger.Key{WorkflowID: wf, EntryID: "run-" + cust, StepKey: step + "#1"},
		Journey: "promo", JourneyVersion: 2, CustomerID: cust, StepID: step, Channel: ch, Intent: channel.Promotional,
	})
	require.NoError(t, err)
	switch status {
	case ledger.Sent:
		require.NoError(t, ledger.MarkSent(ctx, pool, tc.ID, "p-"+fmt.Sprint(tc.ID)))
	case ledger.Blocked:
		require.NoError(t, ledger.MarkBlocked(ctx, pool, tc.ID, reason))
	case ledger.Failed:
		require.NoError(t, ledger.MarkFailed(ctx, pool, tc.ID, reason))
	}
	if variant != "" {
		_, err := pool.Exec(ctx, `update touches set variant = $2 where id = $1`, tc.ID, variant)
		require.NoError(t, err)
	}
	return tc.ID
}

// promo builds a two-step journey for 20 customers: an email to everyone
// (variant A or B), then an SMS for those who got the email. Customers 0-4
// are blocked from email by consent and get nothing more; 5 is blocked by a
// missing address; the SMS reaches 10-19 only, and fails for 19.
func promo(t *testing.T) (*pgxpool.Pool, map[string]int64) {
	pool := testenv.Postgres(t)
	emails := map[string]int64{}
	for i := range 20 {
		id := fmt.Sprintf("c-%02d", i)
		c := customer.Customer{ID: id, Name: "N " + id, TimeZone: "UTC"}
		c.Normalize()
		require.NoError(t, customer.Upsert(context.Background(), pool, c))
		variant := "A"
		if i%2 == 1 {
			variant = "B"
		}
		switch {
		case i < 5:
			touch(t, pool, id, "offer-email", channel.Email, ledger.Blocked, "consent.email", variant)
			continue
		case i == 5:
			touch(t, pool, id, "offer-email", channel.Email, ledger.Blocked, "address.email.missing", variant)
			continue
		}
		emails[id] = touch(t, pool, id, "offer-email", channel.Email, ledger.Sent, "", variant)
		switch {
		case i == 19:
			touch(t, pool, id, "reminder-sms", channel.SMS, ledger.Failed, "send.failed", variant)
		case i >= 10:
			touch(t, pool, id, "reminder-sms", channel.SMS, ledger.Sent, "", variant)
		}
	}
	return pool, emails
}

func TestFunnelFromTheLedger(t *testing.T) {
	pool, _ := promo(t)
	// The throttle let c-18's reminder expire.
	_, err := pool.Exec(context.Background(), `update touches set status = 'expired', reason = 'throttle.quiet_hours'
		where customer_id = 'c-18' and step_id = 'reminder-sms'`)
	require.NoError(t, err)
	r, err := Load(context.Background(), pool, "promo")
	require.NoError(t, err)
	assert.Equal(t, 20, r.Entries)
	assert.Equal(t, []int{2}, r.Versions)
	assert.False(t, r.Engagement)
	require.Len(t, r.Steps, 2)

	email := r.Steps[0]
	assert.Equal(t, "offer-email", email.StepID)
	assert.Equal(t, Counts{Entered: 20, Sent: 14, Blocked: 6}, email.Counts)
	assert.Equal(t, []RuleCount{{"consent.email", 5}, {"address.email.missing", 1}}, email.BlockedBy)
	assert.Equal(t, 10, email.DroppedOut, "blocked (6) and not followed up (6-9) end here")

	sms := r.Steps[1]
	assert.Equal(t, Counts{Entered: 10, Sent: 8, Expired: 1, Failed: 1}, sms.Counts)
	assert.Equal(t, []RuleCount{{"throttle.quiet_hours", 1}}, sms.ExpiredBy)
	assert.Zero(t, sms.DroppedOut, "the last step has no one dropping out after it")

	var out bytes.Buffer
	require.NoError(t, WriteText(&out, r))
	assert.Contains(t, out.String(), "journey promo (version 2): 20 entries")
	assert.Contains(t, out.String(), "offer-email: 5 blocked by consent.email")
	assert.Contains(t, out.String(), "reminder-sms: 1 expired, held by throttle.quiet_hours")
	assert.Contains(t, out.String(), NoEngagement)
	assert.Regexp(t, `offer-email\s+email\s+20\s+14\s+0\s+6\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+10`, out.String())
}

func TestVariantsSideBySide(t *testing.T) {
	pool, _ := promo(t)
	r, err := Load(context.Background(), pool, "promo")
	require.NoError(t, err)
	require.Len(t, r.Variants, 2)
	a, b := r.Variants[0], r.Variants[1]
	// A: even customers 0..18 (10), emails sent to 6,8,...,18 = 7. B: the odd ones, also 7.
	assert.Equal(t, "A", a.Name)
	assert.Equal(t, 10, a.Entered)
	assert.Equal(t, 7, a.Sent)
	assert.Equal(t, 7, b.Sent)
	require.Len(t, r.Comparisons, 1)
	c := r.Comparisons[0]
	assert.Equal(t, "B", c.Variant)
	assert.InDelta(t, 0, c.SendDiff, 1e-9)
	assert.True(t, c.SendCI.Contains(0))
	assert.Equal(t, Newcombe(7, 10, 7, 10, z95), c.SendCI)

	var out bytes.Buffer
	require.NoError(t, WriteText(&out, r))
	assert.Contains(t, out.String(), "B vs A: send rate +0.0 pts (95% CI -35.9 pts to +35.9 pts); no clear difference yet")
}

// Provider events (stored by the webhooks) fill the engagement columns, and
// conversions feed the variant comparison.
func TestEngagementFromProviderEvents(t *testing.T) {
	pool, emails := promo(t)
	ctx := context.Background()
	event := func(cust, kind string) {
		_, err := pool.Exec(ctx, `insert into provider_events (provider, event_key, kind, touch_id, customer_id, channel)
			values ('sendgrid', $1, $2, $3, $4, 'email')`,
			cust+kind, kind, emails[cust], cust)
		require.NoError(t, err)
	}
	for _, id := range []string{"c-06", "c-07", "c-08", "c-09", "c-10", "c-11", "c-12", "c-13", "c-14", "c-15", "c-16", "c-17", "c-18", "c-19"} {
		event(id, "delivered")
	}
	// Every B customer with an email converts; A customers only open.
	for _, id := range []string{"c-07", "c-09", "c-11", "c-13", "c-15", "c-17", "c-19"} {
		event(id, "open")
		event(id, "click")
		event(id, "purchased")
	}
	for _, id := range []string{"c-06", "c-08"} {
		event(id, "open")
	}

	r, err := Load(ctx, pool, "promo")
	require.NoError(t, err)
	assert.True(t, r.Engagement)
	email := r.Steps[0]
	assert.Equal(t, 14, email.Delivered)
	assert.Equal(t, 9, email.Opened)
	assert.Equal(t, 7, email.Clicked)
	assert.Equal(t, 7, email.Converted)
	c := r.Comparisons[0]
	assert.InDelta(t, 0.7, c.ConversionDiff, 1e-9)
	assert.False(t, c.ConversionCI.Contains(0))

	var out bytes.Buffer
	require.NoError(t, WriteText(&out, r))
	t.Log("\n" + out.String())
	assert.NotContains(t, out.String(), NoEngagement)
	assert.Contains(t, out.String(), "conversion +70.0 pts (95% CI +28.9 pts to +89.2 pts)")
	assert.Contains(t, out.String(), "the conversion difference excludes zero")

	out.Reset()
	require.NoError(t, WriteCSV(&out, r))
	rows, err := csv.NewReader(&out).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+2+2)
	assert.Equal(t, csvHeader, rows[0])
	assert.Equal(t, []string{"step", "offer-email", "email", "20", "14", "0", "6", "0", "0", "0", "14", "9", "7", "7", "10",
		"consent.email=5;address.email.missing=1", "", "", "", "", "", ""}, rows[1])
	assert.Equal(t, "variant", rows[4][0])
	assert.Equal(t, "0.7000", rows[4][19])
}

// Without the events table (a schema older than the webhooks) the report
// still works from the ledger alone.
func TestReportWithoutAnEventsTable(t *testing.T) {
	pool, _ := promo(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `drop table provider_events`)
	require.NoError(t, err)
	r, err := Load(ctx, pool, "promo")
	require.NoError(t, err)
	assert.False(t, r.Engagement)
	assert.Equal(t, 14, r.Steps[0].Sent)
	assert.Zero(t, r.Steps[0].Delivered)
}

func TestUnknownJourneyHasNoTouches(t *testing.T) {
	pool := testenv.Postgres(t)
	r, err := Load(context.Background(), pool, "nothing")
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, WriteText(&out, r))
	assert.Equal(t, "journey nothing: no touches yet\n", out.String())
}
