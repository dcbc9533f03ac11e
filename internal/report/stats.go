package report

import "math"

// z95 is the standard normal quantile for a two-sided 95% interval.
const z95 = 1.959963984540054

// Interval is a confidence interval.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Contains reports whether v lies in the interval.
func (i Interval) Contains(v float64) bool { return i.Low <= v && v <= i.High }

// Wilson is the Wilson score interval for the proportion x/n at normal
// quantile z. n must be positive.
func Wilson(x, n int, z float64) Interval {
	fx, fn, z2 := float64(x), float64(n), z*z
	center := (fx + z2/2) / (fn + z2)
	half := z * math.Sqrt(fx*(fn-fx)/fn+z2/4) / (fn + z2)
	return Interval{clamp01(center - half), clamp01(center + half)}
}

// Newcombe is the hybrid score interval (Newcombe 1998, method 10) for the
// difference of two independent proportions x1/n1 - x2/n2, built from the
// two Wilson intervals. Unlike the Wald interval it stays inside [-1, 1] and
// keeps its coverage for small counts and rates near 0 or 1, which is what
// conversion rates usually are. n1 and n2 must be positive.
func Newcombe(x1, n1, x2, n2 int, z float64) Interval {
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	w1, w2 := Wilson(x1, n1, z), Wilson(x2, n2, z)
	d := p1 - p2
	return Interval{
		Low:  d - math.Sqrt(sq(p1-w1.Low)+sq(w2.High-p2)),
		High: d + math.Sqrt(sq(w1.High-p1)+sq(p2-w2.Low)),
	}
}

// Wald is the simple asymptotic interval for x1/n1 - x2/n2. It is shown for
// reference; it collapses to a point when both rates are 0 or 1.
func Wald(x1, n1, x2, n2 int, z float64) Interval {
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	se := math.Sqrt(p1*(1-p1)/float64(n1) + p2*(1-p2)/float64(n2))
	d := p1 - p2
	return Interval{d - z*se, d + z*se}
}

func sq(x float64) float64 { return x * x }

func clamp01(x float64) float64 { return math.Min(1, math.Max(0, x)) }
