// Package visibility names the custom search attributes that make journeys
// findable in the Temporal UI and with `temporal workflow list`, and registers
// them on a namespace.
//
// Search attributes are stored in plain text by the Temporal server (they are
// not encrypted by the payload codec), so they hold ids, names and outcomes
// only, never customer data.
package visibility

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// The journey's search attributes.
var (
	// CustomerID is the customer's id (never a name or address).
	CustomerID = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	// JourneyName is the journey definition's name, e.g. "welcome".
	JourneyName = temporal.NewSearchAttributeKeyKeyword("JourneyName")
	// JourneyVersion is the version of the definition the run started with.
	JourneyVersion = temporal.NewSearchAttributeKeyInt64("JourneyVersion")
	// JourneyStep is the id of the step running now; unset once the journey is done.
	JourneyStep = temporal.NewSearchAttributeKeyKeyword("JourneyStep")
	// LastChannel is the channel of the latest settled touch.
	LastChannel = temporal.NewSearchAttributeKeyKeyword("LastChannel")
	// Outcome is the decision outcome of the latest settled touch (sent,
	// blocked, failed, ...).
	Outcome = temporal.NewSearchAttributeKeyKeyword("Outcome")
)

// Attributes returns every custom search attribute with its type, as
// DevServerOptions.SearchAttributes and the dev server's --search-attribute
// flags want them. The values are placeholders: only names and types matter.
func Attributes() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		CustomerID.ValueSet(""),
		JourneyName.ValueSet(""),
		JourneyVersion.ValueSet(0),
		JourneyStep.ValueSet(""),
		LastChannel.ValueSet(""),
		Outcome.ValueSet(""),
	)
}

// Types maps each attribute's name to its indexed value type.
func Types() map[string]enums.IndexedValueType {
	m := map[string]enums.IndexedValueType{}
	for k := range Attributes().GetUntypedValues() {
		m[k.GetName()] = k.GetValueType()
	}
	return m
}

// DevServerFlags returns the `temporal server start-dev` flags that register
// every attribute at start, sorted by name.
func DevServerFlags() []string {
	types := Types()
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	sort.Strings(names)
	flags := make([]string, 0, 2*len(names))
	for _, n := range names {
		flags = append(flags, "--search-attribute", n+"="+types[n].String())
	}
	return flags
}

// Register adds the attributes missing from namespace and returns the names
// it added. It is idempotent: attributes that exist with the right type are
// left alone, and one that exists with another type is an error (Temporal
// cannot change a search attribute's type).
func Register(ctx context.Context, c client.Client, namespace string) ([]string, error) {
	existing, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	missing := map[string]enums.IndexedValueType{}
	var conflicts []string
	for name, want := range Types() {
		have, ok := existing.GetCustomAttributes()[name]
		if !ok {
			have, ok = existing.GetSystemAttributes()[name]
		}
		switch {
		case !ok:
			missing[name] = want
		case have != want:
			conflicts = append(conflicts, fmt.Sprintf("%s is %s, want %s", name, have, want))
		}
	}
	if len(conflicts) > 0 {
		sort.Strings(conflicts)
		return nil, fmt.Errorf("namespace %s has search attributes of the wrong type (rename or recreate them): %s",
			namespace, strings.Join(conflicts, "; "))
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	}); err != nil {
		return nil, fmt.Errorf("add search attributes to namespace %s: %w", namespace, err)
	}
	added := make([]string, 0, len(missing))
	for n := range missing {
		added = append(added, n)
	}
	sort.Strings(added)
	return added, nil
}
