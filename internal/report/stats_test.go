package report

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The eight examples of Newcombe (1998), "Interval estimation for the
// difference between independent proportions", Statistics in Medicine 17,
// Table II: method 1 (Wald) and method 10 (hybrid score), to 4 decimals.
func TestIntervalsMatchPublishedValues(t *testing.T) {
	for _, tc := range []struct {
		x1, n1, x2, n2 int
		wald, newcombe Interval
	}{
		{56, 70, 48, 80, Interval{0.0575, 0.3425}, Interval{0.0524, 0.3339}},
		{9, 10, 3, 10, Interval{0.2605, 0.9395}, Interval{0.1705, 0.8090}},
		{6, 7, 2, 7, Interval{0.1481, 0.9947}, Interval{0.0582, 0.8062}},
		{5, 56, 0, 29, Interval{0.0146, 0.1640}, Interval{-0.0381, 0.1926}},
		{0, 10, 0, 20, Interval{0, 0}, Interval{-0.1611, 0.2775}},
		{0, 10, 0, 10, Interval{0, 0}, Interval{-0.2775, 0.2775}},
		{10, 10, 0, 20, Interval{1, 1}, Interval{0.6791, 1.0000}},
		{10, 10, 0, 10, Interval{1, 1}, Interval{0.6075, 1.0000}},
	} {
		name := fmt.Sprintf("%d/%d-%d/%d", tc.x1, tc.n1, tc.x2, tc.n2)
		w := Wald(tc.x1, tc.n1, tc.x2, tc.n2, z95)
		n := Newcombe(tc.x1, tc.n1, tc.x2, tc.n2, z95)
		assert.InDelta(t, tc.wald.Low, w.Low, 5e-5, name+" wald low")
		assert.InDelta(t, tc.wald.High, w.High, 5e-5, name+" wald high")
		assert.InDelta(t, tc.newcombe.Low, n.Low, 5e-5, name+" newcombe low")
		assert.InDelta(t, tc.newcombe.High, n.High, 5e-5, name+" newcombe high")
	}
}

func TestWilson(t *testing.T) {
	// 81 of 263: 0.2553 to 0.3662 from the closed form worked by hand.
	w := Wilson(81, 263, z95)
	assert.InDelta(t, 0.2553, w.Low, 5e-5)
	assert.InDelta(t, 0.3662, w.High, 5e-5)
	assert.Equal(t, Interval{0, 0.2775}, round4(Wilson(0, 10, z95)))
}

func round4(i Interval) Interval {
	r := func(x float64) float64 { return float64(int(x*10000+0.5)) / 10000 }
	return Interval{r(i.Low), r(i.High)}
}

func BenchmarkNewcombe(b *testing.B) {
	for b.Loop() {
		Newcombe(56, 70, 48, 80, z95)
	}
}
