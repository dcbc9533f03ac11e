package journey

import "hash/fnv"

// Bucket maps a customer to a number in [0, 100) for a split step. It
// depends only on the customer, the journey's name and the step's id, so a
// re-run, a re-entry or a new version of the journey keeps every customer in
// the same variant.
func Bucket(customerID, journeyName, stepID string) int {
	h := fnv.New64a()
	for _, s := range []string{customerID, journeyName, stepID} {
		_, _ = h.Write([]byte(s))
		_, _ = h.Write([]byte{0})
	}
	return int(h.Sum64() % 100)
}

// PickVariant returns the index of the variant of a split step the customer
// is assigned to. The step's weights sum to 100 (Validate checks it).
func PickVariant(customerID, journeyName string, s Step) int {
	b := Bucket(customerID, journeyName, s.ID)
	for i, v := range s.Variants {
		if b < v.Weight {
			return i
		}
		b -= v.Weight
	}
	return len(s.Variants) - 1
}
