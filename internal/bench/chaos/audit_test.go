package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/testenv"
	"github.com/outreach-engine/outreach/internal/throttle"
)

// The audit is what makes `make chaos` fail: it must see every kind of
// damage a crash could do, and nothing else.
func TestAuditCountsDuplicatesLossesAndBrokenRules(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Postgres(t)
	p, err := throttle.Parse([]byte(policyYAML))
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `insert into customers (id, name, time_zone) values
		('ok', 'A', 'UTC'), ('twice', 'B', 'UTC'), ('night', 'C', 'Asia/Tokyo')`)
	require.NoError(t, err)

	// Noon UTC is 21:00 in Tokyo: quiet hours for texts.
	noon := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	type row struct {
		customer, step, channel, intent, status, reason string
		at                                              time.Time
	}
	ids := map[string]int64{}
	for _, r := range []row{
		{"ok", "text", "sms", "caring", "sent", "", noon},                                             // received once: fine
		{"ok", "email", "email", "caring", "failed", "ambiguous.at_most_once", noon.Add(time.Minute)}, // documented at most once
		{"ok", "letter", "mail", "transactional", "sent", "", noon.Add(2 * time.Minute)},              // received twice: duplicate
		{"ok", "again", "sms", "caring", "expired", "throttle.cap.sms_7d", noon.Add(3 * time.Minute)}, // received: duplicate
		{"twice", "text", "sms", "caring", "sent", "", noon},                                          // never received: lost
		{"twice", "again", "sms", "caring", "sent", "", noon.Add(time.Minute)},                        // second text in 7 days: cap
		{"night", "text", "sms", "caring", "sent", "", noon},                                          // quiet hours
	} {
		var id int64
		require.NoError(t, pool.QueryRow(ctx, `
			insert into touches (workflow_id, entry_id, step_key, journey, journey_version, customer_id, step_id,
			                     channel, intent, status, reason, touch_at, sent_at)
			values ($1, 'e', $2, 'chaos', 1, $1, $2, $3, $4, $5, $6, $7,
			        case when $5 = 'sent' then $7::timestamptz end)
			returning id`, r.customer, r.step, r.channel, r.intent, r.status, r.reason, r.at).Scan(&id))
		ids[r.customer+"/"+r.step] = id
	}
	got := map[int64]int{
		ids["ok/text"]: 1, ids["ok/email"]: 1, ids["ok/letter"]: 2, ids["ok/again"]: 1,
		ids["twice/again"]: 1, ids["night/text"]: 1,
		999999: 1, // a request naming a touch the ledger does not know
	}

	a, err := audit(ctx, pool, p, got)
	require.NoError(t, err)
	assert.Equal(t, 5, a.sent)
	assert.Equal(t, 1+1+1, a.duplicates, "the second letter, the expired text that went out, the unknown touch")
	assert.Equal(t, 1, a.lost, "the text no provider received")
	assert.Equal(t, 2, a.capViolations, "the second text within 7 days and the text in Tokyo's quiet hours")
	assert.Equal(t, 1, a.atMostOnce)
	assert.Len(t, a.problems, 6)
}

func TestCleanRunAuditsClean(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Postgres(t)
	p, err := throttle.Parse([]byte(policyYAML))
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `insert into customers (id, name, time_zone) values ('ok', 'A', 'America/New_York')`)
	require.NoError(t, err)
	at := time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC) // 11:00 in New York
	var text, email int64
	insert := `insert into touches (workflow_id, entry_id, step_key, journey, journey_version, customer_id, step_id,
		channel, intent, status, touch_at, sent_at) values ('ok', 'e', $1, 'chaos', 1, 'ok', $1, $2, 'caring', 'sent', $3, $3) returning id`
	require.NoError(t, pool.QueryRow(ctx, insert, "text", "sms", at).Scan(&text))
	require.NoError(t, pool.QueryRow(ctx, insert, "email", "email", at.Add(5*time.Second)).Scan(&email))

	a, err := audit(ctx, pool, p, map[int64]int{text: 1, email: 1})
	require.NoError(t, err)
	assert.Equal(t, auditResult{sent: 2, statuses: "sent=2"}, a)
}
