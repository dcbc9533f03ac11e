package journey

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The fields below describe what a template says and to whom, so that the
// rules of respect (internal/policy) can check a touch before it is sent.
// Every field is optional; a template that declares nothing is checked only
// for consent, account type and reachability.

// Audience says who an offer is for. A customer must match every non-empty
// requirement and no exclusion.
type Audience struct {
	// RequiresInterest: the customer told us about at least one of these.
	RequiresInterest []string `json:"requires_interest,omitempty"`
	// RequiresLifeStage: the household is in at least one of these stages.
	RequiresLifeStage []string `json:"requires_life_stage,omitempty"`
	// ExcludesLifeStage: the household is in none of these stages.
	ExcludesLifeStage []string `json:"excludes_life_stage,omitempty"`
	// RequiresPurchaseIn: the customer bought in at least one of these categories.
	RequiresPurchaseIn []string `json:"requires_purchase_in,omitempty"`
}

// Empty reports whether the audience has no rule at all.
func (a Audience) Empty() bool {
	return len(a.RequiresInterest) == 0 && len(a.RequiresLifeStage) == 0 &&
		len(a.ExcludesLifeStage) == 0 && len(a.RequiresPurchaseIn) == 0
}

// Claim is something a message says about the customer ("one of our most
// valuable customers") with the data rule that must hold for it to be true.
type Claim struct {
	Says              string `json:"says"`
	MinOrders         int    `json:"min_orders,omitempty"`
	MinLifetimeSpendC int64  `json:"min_lifetime_spend_cents,omitempty"`
}

// Addressing says how a message addresses its recipient.
type Addressing struct {
	// To is "name" (the default: the customer's own name) or "resident"
	// ("Current Resident", as on a bought address list).
	To string `json:"to,omitempty"`
	// Personal marks a message that speaks to the reader personally or
	// urgently ("urgent information for you"). A subject or body containing
	// the word "urgent" counts as personal even when this is not set.
	Personal bool `json:"personal,omitempty"`
}

// Mail surfaces: a postcard can be read by anyone who handles it, a letter
// is sealed in an envelope.
const (
	SurfacePostcard = "postcard"
	SurfaceLetter   = "letter"
)

// Life stages of a household, from the children's birth years.
const (
	LifeStageNoChildren    = "no_children"    // the household has told us it has no children
	LifeStageInfant        = "infant"         // youngest child under 3
	LifeStageChild         = "child"          // youngest child 3 to 12
	LifeStageTeen          = "teen"           // youngest child 13 to 17
	LifeStageAdultChildren = "adult_children" // every child 18 or older
)

// LifeStages lists every life stage an audience may name.
var LifeStages = []string{LifeStageNoChildren, LifeStageInfant, LifeStageChild, LifeStageTeen, LifeStageAdultChildren}

// metadataErrors checks the optional fields of a template used on a step of
// channel ch.
func (t Template) metadataErrors(ch string) []error {
	var errs []error
	for _, s := range slices.Concat(t.Audience.RequiresLifeStage, t.Audience.ExcludesLifeStage) {
		if !slices.Contains(LifeStages, s) {
			errs = append(errs, fmt.Errorf("audience: unknown life stage %q (want one of %s)", s, strings.Join(LifeStages, ", ")))
		}
	}
	for i, c := range t.Claims {
		if strings.TrimSpace(c.Says) == "" {
			errs = append(errs, fmt.Errorf("claim %d: says is empty", i+1))
		}
		if c.MinOrders <= 0 && c.MinLifetimeSpendC <= 0 {
			errs = append(errs, fmt.Errorf("claim %q: needs a data rule that backs it (min_orders or min_lifetime_spend_cents)", c.Says))
		}
	}
	switch t.Addressing.To {
	case "", "name", "resident":
	default:
		errs = append(errs, fmt.Errorf("addressing: to must be name or resident, got %q", t.Addressing.To))
	}
	switch {
	case t.Surface == "":
	case ch != "mail":
		errs = append(errs, fmt.Errorf("surface %q only applies to mail", t.Surface))
	case t.Surface != SurfacePostcard && t.Surface != SurfaceLetter:
		errs = append(errs, fmt.Errorf("surface must be postcard or letter, got %q", t.Surface))
	}
	for _, c := range t.Categories {
		if strings.TrimSpace(c) == "" {
			errs = append(errs, errors.New("categories: empty category name"))
		}
	}
	return errs
}
