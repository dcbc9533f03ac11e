package customer

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/channel"
)

func TestParseJSONLKeepsGoodLinesAndNamesEachBadOne(t *testing.T) {
	f, err := os.Open("testdata/mixed.jsonl")
	require.NoError(t, err)
	defer f.Close()

	good, bad, err := ParseJSONL(f)
	require.NoError(t, err)

	ids := []string{}
	for _, c := range good {
		ids = append(ids, c.ID)
	}
	assert.Equal(t, []string{"ok-1", "ok-2"}, ids)
	assert.Equal(t, AccountCustomer, good[1].AccountType, "account type defaults to customer")
	assert.True(t, good[0].Consents[channel.Email])

	got := map[int]string{}
	for _, le := range bad {
		got[le.Line] = le.Error()
	}
	want := map[int]string{
		2:  `line 2: time_zone: "Mars/Olympus_Mons" is not an IANA time zone`,
		3:  `line 3: email: "alan(at)example.com" is not a plain email address`,
		4:  "line 4: malformed JSON",
		7:  `line 7: phone: "0612345678" is not an E.164 number`,
		8:  "line 8: interests: expected []string, got JSON string",
		9:  `line 9: id: "ok-1" already appears on line 1`,
		10: `line 10: account_type: "robot" is not one of`,
		11: `line 11: malformed JSON: json: unknown field "favourite_colour"`,
	}
	require.Len(t, got, len(want), "rejected lines: %v", got)
	for line, prefix := range want {
		assert.True(t, strings.HasPrefix(got[line], prefix), "line %d: got %q, want prefix %q", line, got[line], prefix)
	}
}

func TestParseJSONLRejectsOverlongLineAndKeepsEarlierOnes(t *testing.T) {
	in := `{"id": "a", "name": "A", "time_zone": "UTC"}` + "\n" + `{"id": "b", "name": "` + strings.Repeat("x", maxLine) + `"}` + "\n"
	good, bad, err := ParseJSONL(strings.NewReader(in))
	require.NoError(t, err)
	require.Len(t, good, 1)
	require.Len(t, bad, 1)
	assert.Equal(t, 2, bad[0].Line)
}

func TestValidateNamesTheField(t *testing.T) {
	base := func() Customer {
		return Customer{ID: "c-1", Name: "Ada", TimeZone: "Europe/London", AccountType: AccountCustomer}
	}
	cases := map[string]struct {
		mutate func(*Customer)
		field  string
	}{
		"missing id":      {func(c *Customer) { c.ID = "" }, "id"},
		"id with space":   {func(c *Customer) { c.ID = "c 1" }, "id"},
		"missing name":    {func(c *Customer) { c.Name = "" }, "name"},
		"Local zone":      {func(c *Customer) { c.TimeZone = "Local" }, "time_zone"},
		"display email":   {func(c *Customer) { c.Email = "Ada <ada@example.com>" }, "email"},
		"short phone":     {func(c *Customer) { c.Phone = "+12" }, "phone"},
		"address no city": {func(c *Customer) { c.Address = &Address{Line1: "1 St", Country: "GB"} }, "address"},
		"unknown channel": {func(c *Customer) { c.Consents = map[channel.Name]bool{"fax": true} }, "consents"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := base()
			tc.mutate(&c)
			var fe *FieldError
			require.ErrorAs(t, c.Validate(), &fe)
			assert.Equal(t, tc.field, fe.Field)
		})
	}
	c := base()
	assert.NoError(t, c.Validate())
}

func TestAddressOnChannel(t *testing.T) {
	c := Customer{Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+447700900001",
		Address: &Address{Line1: "1 Example St", City: "London", PostalCode: "N1", Country: "GB"}}
	assert.Equal(t, "ada@example.com", c.AddressOn(channel.Email))
	assert.Equal(t, "+447700900001", c.AddressOn(channel.SMS))
	assert.Equal(t, "+447700900001", c.AddressOn(channel.Voice))
	assert.Equal(t, "Ada Lovelace, 1 Example St, London, N1, GB", c.AddressOn(channel.Mail))
	c.Address = nil
	assert.Equal(t, "", c.AddressOn(channel.Mail))
}
