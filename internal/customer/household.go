package customer

import (
	"fmt"
	"strings"
	"time"
)

// Household is what a customer told us about their household. A nil
// *Household means we were never told, which is not the same as "no children".
type Household struct {
	ChildrenBirthYears []int `json:"children_birth_years"`
}

// ShipTo says where an order was delivered.
type ShipTo string

const (
	ShipHome  ShipTo = "home"
	ShipPOBox ShipTo = "po_box"
)

// Purchase is one category of one order.
type Purchase struct {
	Order string `json:"order"`
	// Category is the product category, e.g. "books" or "adult".
	Category string `json:"category"`
	// Sensitive marks a purchase that must never show on a surface others
	// can see (a postcard, an SMS preview, a voicemail).
	Sensitive   bool   `json:"sensitive,omitempty"`
	AmountCents int64  `json:"amount_cents"`
	ShipTo      ShipTo `json:"ship_to,omitempty"`
}

// validateHousehold checks the optional household and purchases of c.
func (c *Customer) validateHousehold() error {
	if h := c.Household; h != nil {
		now := time.Now().Year()
		for _, y := range h.ChildrenBirthYears {
			if y < 1900 || y > now+1 {
				return &FieldError{"household.children_birth_years", fmt.Sprintf("%d is not a plausible birth year", y)}
			}
		}
	}
	seen := map[[2]string]bool{}
	for i := range c.Purchases {
		p := &c.Purchases[i]
		p.Order, p.Category = strings.TrimSpace(p.Order), strings.TrimSpace(strings.ToLower(p.Category))
		if p.ShipTo == "" {
			p.ShipTo = ShipHome
		}
		field := fmt.Sprintf("purchases[%d]", i)
		switch {
		case p.Order == "":
			return &FieldError{field + ".order", "is required"}
		case p.Category == "":
			return &FieldError{field + ".category", "is required"}
		case p.AmountCents < 0:
			return &FieldError{field + ".amount_cents", "must not be negative"}
		case p.ShipTo != ShipHome && p.ShipTo != ShipPOBox:
			return &FieldError{field + ".ship_to", fmt.Sprintf("%q is not home or po_box", p.ShipTo)}
		}
		key := [2]string{p.Order, p.Category}
		if seen[key] {
			return &FieldError{field, fmt.Sprintf("order %q category %q appears twice", p.Order, p.Category)}
		}
		seen[key] = true
	}
	return nil
}
