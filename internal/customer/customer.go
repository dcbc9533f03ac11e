// Package customer owns the customer record: its fields, their validation,
// the JSON-lines import format, and the queries that read and write customers
// and their per-channel consent in Postgres.
package customer

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/journey"
)

// AccountType separates real customers from accounts that only sit in the
// customer table (rule 7: they never enter a journey).
type AccountType string

const (
	AccountCustomer   AccountType = "customer"
	AccountInternal   AccountType = "internal"
	AccountSubsidiary AccountType = "subsidiary"
	AccountAffiliate  AccountType = "affiliate"
)

// Valid reports whether a is a known account type.
func (a AccountType) Valid() bool {
	switch a {
	case AccountCustomer, AccountInternal, AccountSubsidiary, AccountAffiliate:
		return true
	}
	return false
}

// Address is a postal address. POBox marks a post-office box, which matters
// for what may be mailed where.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
	POBox      bool   `json:"po_box,omitempty"`
}

// OneLine renders the address on a single line.
func (a Address) OneLine() string {
	parts := []string{a.Line1, a.Line2, a.City, a.Region, a.PostalCode, a.Country}
	out := parts[:0]
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

// Customer is one person (or, for non-customer account types, one account).
type Customer struct {
	ID          string                `json:"id"`
	Name        string                `json:"name"`
	Email       string                `json:"email,omitempty"`
	Phone       string                `json:"phone,omitempty"`
	Address     *Address              `json:"address,omitempty"`
	TimeZone    string                `json:"time_zone"`
	AccountType AccountType           `json:"account_type,omitempty"`
	Interests   []string              `json:"interests,omitempty"`
	Consents    map[channel.Name]bool `json:"consents,omitempty"`
	Attributes  map[string]any        `json:"attributes,omitempty"`
	Household   *Household            `json:"household,omitempty"`
	// Purchases, when present in an import, replace the stored ones.
	Purchases []Purchase `json:"purchases,omitempty"`
	// PhoneInvalid is set when a call agent found the number is not the
	// customer's; calls and texts stop until the number changes.
	PhoneInvalid bool `json:"phone_invalid,omitempty"`
}

// FieldError is a problem with one field of a customer record.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

var (
	e164     = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	idSyntax = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// ValidPhone reports whether p is an E.164 number (+ and 7 to 15 digits).
func ValidPhone(p string) bool { return e164.MatchString(p) }

// Normalize fills defaults (account type) and trims whitespace.
func (c *Customer) Normalize() {
	c.ID = strings.TrimSpace(c.ID)
	c.Name = strings.TrimSpace(c.Name)
	c.Email = strings.TrimSpace(c.Email)
	c.Phone = strings.TrimSpace(c.Phone)
	c.TimeZone = strings.TrimSpace(c.TimeZone)
	if c.AccountType == "" {
		c.AccountType = AccountCustomer
	}
}

// Validate returns the first problem with the record as a *FieldError.
func (c *Customer) Validate() error {
	switch {
	case c.ID == "":
		return &FieldError{"id", "is required"}
	case !idSyntax.MatchString(c.ID):
		return &FieldError{"id", "must be 1-128 letters, digits, '.', '_' or '-'"}
	case c.Name == "":
		return &FieldError{"name", "is required"}
	case c.TimeZone == "":
		return &FieldError{"time_zone", "is required (an IANA name such as Europe/Paris)"}
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "Local" {
		return &FieldError{"time_zone", fmt.Sprintf("%q is not an IANA time zone", c.TimeZone)}
	}
	if c.Email != "" {
		addr, err := mail.ParseAddress(c.Email)
		if err != nil || addr.Address != c.Email || addr.Name != "" {
			return &FieldError{"email", fmt.Sprintf("%q is not a plain email address", c.Email)}
		}
	}
	if c.Phone != "" && !ValidPhone(c.Phone) {
		return &FieldError{"phone", fmt.Sprintf("%q is not an E.164 number such as +14155550123", c.Phone)}
	}
	if !c.AccountType.Valid() {
		return &FieldError{"account_type", fmt.Sprintf("%q is not one of customer, internal, subsidiary, affiliate", c.AccountType)}
	}
	if a := c.Address; a != nil {
		if strings.TrimSpace(a.Line1) == "" || strings.TrimSpace(a.City) == "" || strings.TrimSpace(a.Country) == "" {
			return &FieldError{"address", "needs at least line1, city and country"}
		}
	}
	for ch := range c.Consents {
		if !ch.Valid() {
			return &FieldError{"consents", fmt.Sprintf("unknown channel %q", ch)}
		}
	}
	return c.validateHousehold()
}

// FirstName is the first word of the name.
func (c *Customer) FirstName() string {
	if f := strings.Fields(c.Name); len(f) > 0 {
		return f[0]
	}
	return ""
}

// Location returns the customer's time zone (UTC if it cannot be loaded).
func (c *Customer) Location() *time.Location {
	if loc, err := time.LoadLocation(c.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

// AddressOn returns the customer's address on a channel, or "" when there is none.
func (c *Customer) AddressOn(ch channel.Name) string {
	switch ch {
	case channel.Email:
		return c.Email
	case channel.SMS, channel.Voice:
		if c.PhoneInvalid {
			return ""
		}
		return c.Phone
	case channel.Mail:
		if c.Address != nil {
			return c.Name + ", " + c.Address.OneLine()
		}
	}
	return ""
}

// TemplateData is the view of the customer that message templates see.
func (c *Customer) TemplateData() journey.Data {
	d := journey.Data{
		CustomerID: c.ID, Name: c.Name, FirstName: c.FirstName(),
		Email: c.Email, Phone: c.Phone,
		Interests: c.Interests, Attributes: c.Attributes,
	}
	if c.Address != nil {
		d.City = c.Address.City
	}
	if d.Attributes == nil {
		d.Attributes = map[string]any{}
	}
	return d
}

// ErrNotFound is returned when a customer id is unknown.
var ErrNotFound = errors.New("customer not found")
