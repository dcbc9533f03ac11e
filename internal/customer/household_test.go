package customer_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/testenv"
)

const base = `"name": "Julie Martin", "time_zone": "Europe/Paris"`

func TestImportHouseholdAndPurchases(t *testing.T) {
	in := strings.Join([]string{
		`{"id": "c-1", ` + base + `, "household": {"children_birth_years": [2011, 2008]}, "purchases": [{"order": "o-1", "category": " Adult ", "sensitive": true, "amount_cents": 6400, "ship_to": "po_box"}]}`,
		`{"id": "c-2", ` + base + `}`,
		`{"id": "c-3", ` + base + `, "household": {"children_birth_years": [1850]}}`,
		`{"id": "c-4", ` + base + `, "purchases": [{"order": "o-1", "category": "books", "amount_cents": 100, "ship_to": "locker"}]}`,
		`{"id": "c-5", ` + base + `, "purchases": [{"category": "books", "amount_cents": 100}]}`,
		`{"id": "c-6", ` + base + `, "purchases": [{"order": "o-1", "category": "books", "amount_cents": -1}]}`,
		`{"id": "c-7", ` + base + `, "purchases": [{"order": "o-1", "category": "books", "amount_cents": 1, "colour": "red"}]}`,
		`{"id": "c-8", ` + base + `, "purchases": [{"order": "o-1", "category": "books"}, {"order": "o-1", "category": "Books"}]}`,
	}, "\n")
	good, bad, err := customer.ParseJSONL(strings.NewReader(in))
	require.NoError(t, err)
	require.Len(t, good, 2)
	assert.Equal(t, []int{2011, 2008}, good[0].Household.ChildrenBirthYears)
	assert.Equal(t, customer.Purchase{Order: "o-1", Category: "adult", Sensitive: true, AmountCents: 6400, ShipTo: customer.ShipPOBox}, good[0].Purchases[0])
	assert.Nil(t, good[1].Household, "no household in the file means we were never told")

	want := map[int]string{
		3: "household.children_birth_years: 1850 is not a plausible birth year",
		4: `purchases[0].ship_to: "locker" is not home or po_box`,
		5: "purchases[0].order: is required",
		6: "purchases[0].amount_cents: must not be negative",
		7: `unknown field "colour"`,
		8: `purchases[1]: order "o-1" category "books" appears twice`,
	}
	require.Len(t, bad, len(want))
	for _, le := range bad {
		assert.Contains(t, le.Error(), want[le.Line], "line %d", le.Line)
	}
}

// The sample file of `make demo` stays valid as the format grows.
func TestSampleCustomersAreValid(t *testing.T) {
	f, err := os.Open("../../deploy/dev/sample/customers.jsonl")
	require.NoError(t, err)
	defer f.Close()
	good, bad, err := customer.ParseJSONL(f)
	require.NoError(t, err)
	assert.Empty(t, bad)
	assert.GreaterOrEqual(t, len(good), 30)
}

func TestHouseholdAndPurchasesRoundTrip(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	ctx := context.Background()
	c := customer.Customer{
		ID: "c-1", Name: "Julie Martin", TimeZone: "Europe/Paris",
		Household: &customer.Household{ChildrenBirthYears: []int{2011}},
		Purchases: []customer.Purchase{{Order: "o-1", Category: "adult", Sensitive: true, AmountCents: 6400, ShipTo: customer.ShipPOBox}},
	}
	c.Normalize()
	require.NoError(t, c.Validate())
	require.NoError(t, customer.Upsert(ctx, pool, c))

	// A later import of contact details only forgets nothing she told us.
	update := customer.Customer{ID: "c-1", Name: "Julie Martin", TimeZone: "Europe/Paris", Email: "julie@example.com"}
	update.Normalize()
	require.NoError(t, customer.Upsert(ctx, pool, update))
	got, err := customer.Get(ctx, pool, "c-1")
	require.NoError(t, err)
	assert.Equal(t, "julie@example.com", got.Email)
	require.NotNil(t, got.Household)
	assert.Equal(t, []int{2011}, got.Household.ChildrenBirthYears)
	ps, err := customer.Purchases(ctx, pool, "c-1")
	require.NoError(t, err)
	assert.Equal(t, c.Purchases, ps)

	// Purchases given again replace the stored ones.
	update.Purchases = []customer.Purchase{{Order: "o-2", Category: "books", AmountCents: 100, ShipTo: customer.ShipHome}}
	require.NoError(t, customer.Upsert(ctx, pool, update))
	ps, err = customer.Purchases(ctx, pool, "c-1")
	require.NoError(t, err)
	assert.Equal(t, update.Purchases, ps)
}
