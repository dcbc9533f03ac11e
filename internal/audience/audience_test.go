package audience

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/testenv"
)

func TestParseListSkipsCommentsAndReportsBadLines(t *testing.T) {
	in := "# spring campaign\nc-1\n\n  c-2   # VIP\nc-1\nc-3, c-4\n"
	entries, problems, err := ParseList(strings.NewReader(in))
	require.NoError(t, err)
	assert.Equal(t, []ListEntry{{2, "c-1"}, {4, "c-2"}}, entries)
	assert.Equal(t, []Problem{
		{5, "c-1", "repeats line 2"},
		{6, "c-3, c-4", "one id per line, without separators"},
	}, problems)
}

func TestSampleSpreadsOverTheAudience(t *testing.T) {
	a := Audience{IDs: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}}
	assert.Equal(t, []string{"a", "c", "e", "g", "i"}, a.Sample(5))
	assert.Equal(t, a.IDs, a.Sample(20))
	assert.Nil(t, Audience{}.Sample(3))
}

func parse(t *testing.T, src string) (Segment, error) {
	t.Helper()
	return ParseSegment(strings.NewReader(src))
}

func TestParseSegmentFile(t *testing.T) {
	f, err := os.Open("testdata/lapsed.yaml")
	require.NoError(t, err)
	defer f.Close()
	s, err := ParseSegment(f)
	require.NoError(t, err)
	assert.Equal(t, "lapsed", s.Name)
	assert.Equal(t, []Param{{Name: "days", Type: TypeInt, Default: 90}}, s.Params)
	require.Len(t, s.Where, 2)
	assert.Equal(t, 7, s.Where[1].Line)
}

func TestParseSegmentNamesEveryProblemWithItsLine(t *testing.T) {
	_, err := parse(t, `name: Bad Name
params:
  kind: {type: colour}
where:
  - consent: pigeon
  - attribute: plan
    op: like
    value: x
  - days_since: last_order_at
    op: ">"
    value: $weeks
  - interest: golf
    time_zone: Europe/Paris
  - time_zone: Mars/Olympus
`)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`name: "Bad Name" must be lower-case`,
		`line 3: param kind: type "colour" is not one of int, number, string, bool`,
		`line 5: consent: unknown channel "pigeon"`,
		`line 6: attribute plan: op "like" is not one of`,
		`line 9: $weeks is not a parameter of this segment`,
		`line 12: a predicate has exactly one of`,
		`line 14: time_zone: "Mars/Olympus" is not an IANA time zone`,
	} {
		assert.Contains(t, msg, want)
	}
	_, err = parse(t, "name: x\nwhere:\n  - consent: email\n    colour: red\n")
	assert.ErrorContains(t, err, `line 4: unknown key "colour"`, "unknown keys are rejected with their line")
}

func TestBindConvertsAndChecksParameters(t *testing.T) {
	s, err := parse(t, `name: p
params:
  days: 90
  ratio: 0.5
  region: {type: string, description: where they live}
where:
  - interest: $region
`)
	require.NoError(t, err)
	got, err := s.Bind(map[string]string{"days": "120", "region": "north"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"days": int64(120), "ratio": 0.5, "region": "north"}, got)

	_, err = s.Bind(map[string]string{"days": "soon"})
	assert.ErrorContains(t, err, "--param days: soon is not a whole number")
	assert.ErrorContains(t, err, "parameter region is required (--param region=...)")
	_, err = s.Bind(map[string]string{"region": "x", "dayz": "1"})
	assert.ErrorContains(t, err, `has no parameter "dayz" (it has: days, ratio, region)`)
}

// Values never enter the SQL text: a hostile value stays an argument.
func TestCompileKeepsValuesOutOfTheSQL(t *testing.T) {
	s, err := parse(t, `name: x
params:
  who: "golf"
where:
  - interest: $who
  - attribute: plan
    op: in
    value: [plus, "it's"]
  - attribute: orders
    op: ">"
    value: 3
  - time_zone: [Europe/London, America/New_York]
`)
	require.NoError(t, err)
	q, err := s.Compile(map[string]any{"who": "'; drop table customers; --"}, time.Now())
	require.NoError(t, err)
	assert.NotContains(t, q.SQL, "drop table")
	assert.NotContains(t, q.SQL, "plus")
	assert.Contains(t, q.SQL, "c.account_type = 'customer'")
	assert.Equal(t, "'; drop table customers; --", q.Args[0])
	assert.Equal(t, []string{`"plus"`, `"it's"`}, q.Args[2])
}

func seed(t *testing.T, pool *pgxpool.Pool, id string, acct customer.AccountType, tz string, interests []string,
	consents map[channel.Name]bool, attrs map[string]any) {
	t.Helper()
	c := customer.Customer{ID: id, Name: "Test " + id, Email: id + "@example.com", TimeZone: tz, AccountType: acct,
		Interests: interests, Consents: consents, Attributes: attrs}
	c.Normalize()
	require.NoError(t, c.Validate())
	require.NoError(t, customer.Upsert(context.Background(), pool, c))
}

func seedPeople(t *testing.T) *pgxpool.Pool {
	pool := testenv.Postgres(t)
	email := map[channel.Name]bool{channel.Email: true}
	// c-recent ordered 10 days before "today", c-old 200 days, c-never never.
	seed(t, pool, "c-recent", customer.AccountCustomer, "Europe/London", []string{"golf"}, email,
		map[string]any{"last_order_at": "2026-11-13", "plan": "plus", "orders": 12})
	seed(t, pool, "c-old", customer.AccountCustomer, "Europe/Paris", []string{"tennis"}, email,
		map[string]any{"last_order_at": "2026-05-07T09:30:00Z", "plan": "basic", "orders": 2})
	seed(t, pool, "c-never", customer.AccountCustomer, "Europe/London", nil, email, map[string]any{"plan": "basic"})
	seed(t, pool, "c-nomail", customer.AccountCustomer, "Europe/London", nil,
		map[channel.Name]bool{channel.Email: false, channel.SMS: true}, map[string]any{"orders": 5})
	seed(t, pool, "int-qa", customer.AccountInternal, "UTC", []string{"golf"}, email, map[string]any{"orders": 99})
	return pool
}

var today = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestSegmentsSelectTheRightCustomersAndNeverNonCustomers(t *testing.T) {
	pool := seedPeople(t)
	ctx := context.Background()
	f, err := os.Open("testdata/lapsed.yaml")
	require.NoError(t, err)
	lapsed, err := ParseSegment(f)
	f.Close()
	require.NoError(t, err)

	a, err := FromSegment(ctx, pool, lapsed, nil, today)
	require.NoError(t, err)
	assert.Equal(t, []string{"c-never", "c-old"}, a.IDs, "no order in 90 days (or never), email opted in")
	assert.Equal(t, "segment lapsed (days=90)", a.Source)

	a, err = FromSegment(ctx, pool, lapsed, map[string]string{"days": "5"}, today)
	require.NoError(t, err)
	assert.Equal(t, []string{"c-never", "c-old", "c-recent"}, a.IDs)

	for _, tc := range []struct {
		where string
		want  []string
	}{
		{"interest: golf", []string{"c-recent"}},
		{"consent: sms", []string{"c-nomail"}},
		{"time_zone: [Europe/Paris]", []string{"c-old"}},
		{"attribute: orders\n    op: \">=\"\n    value: 5", []string{"c-nomail", "c-recent"}},
		{"attribute: plan\n    op: eq\n    value: basic", []string{"c-never", "c-old"}},
		{"attribute: plan\n    op: ne\n    value: basic", []string{"c-nomail", "c-recent"}},
		{"attribute: plan\n    op: in\n    value: [plus, gold]", []string{"c-recent"}},
		{"attribute: last_order_at\n    op: missing", []string{"c-never", "c-nomail"}},
		{"attribute: last_order_at\n    op: \"<\"\n    value: \"2026-06-01\"", []string{"c-old"}},
		{"days_since: last_order_at\n    op: le\n    value: 10", []string{"c-recent"}},
	} {
		s, err := parse(t, "name: t\nwhere:\n  - "+tc.where+"\n")
		require.NoError(t, err, tc.where)
		a, err := FromSegment(ctx, pool, s, nil, today)
		require.NoError(t, err, tc.where)
		assert.Equal(t, tc.want, a.IDs, tc.where)
	}
}

func TestListReportsUnknownIdsAndNonCustomersByLine(t *testing.T) {
	pool := seedPeople(t)
	a, err := FromList(context.Background(), pool, "vip.txt",
		strings.NewReader("c-old\nc-ghost\n# staff\nint-qa\nc-recent\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{"c-old", "c-recent"}, a.IDs)
	assert.Equal(t, []Problem{
		{2, "c-ghost", "no such customer"},
		{4, "int-qa", "internal account, not a customer: left out"},
	}, a.Problems)
}

func TestOneAndAll(t *testing.T) {
	pool := seedPeople(t)
	ctx := context.Background()
	all, err := All(ctx, pool)
	require.NoError(t, err)
	assert.Equal(t, []string{"c-never", "c-nomail", "c-old", "c-recent"}, all.IDs)
	_, err = One(ctx, pool, "int-qa")
	assert.ErrorContains(t, err, "int-qa is not a customer (account type internal): only customers enter journeys")
	_, err = One(ctx, pool, "nobody")
	assert.ErrorIs(t, err, customer.ErrNotFound)
}

func TestStoredSegments(t *testing.T) {
	pool := seedPeople(t)
	ctx := context.Background()
	src, err := os.ReadFile("testdata/lapsed.yaml")
	require.NoError(t, err)
	_, err = SaveSegment(ctx, pool, src)
	require.NoError(t, err)
	s, err := LoadStoredSegment(ctx, pool, "lapsed")
	require.NoError(t, err)
	a, err := FromSegment(ctx, pool, s, map[string]string{"days": "365"}, today)
	require.NoError(t, err)
	assert.Equal(t, []string{"c-never"}, a.IDs)
	_, err = LoadStoredSegment(ctx, pool, "nope")
	assert.ErrorIs(t, err, ErrNoSegment)
}
