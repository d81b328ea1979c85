package bench

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistQuantilesMatchExactWithinBucketError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := NewHist()
	var vals []int64
	for i := 0; i < 100_000; i++ {
		// Log-uniform from 1 µs to 10 s, like latencies.
		v := int64(math.Pow(10, 3+r.Float64()*7))
		vals = append(vals, v)
		h.Record(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 0.9999} {
		exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := h.Quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/512+1 {
			t.Errorf("q%.4f = %d, exact %d: outside [exact, exact·(1+1/512)]", q, got, exact)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] || h.Quantile(1) != h.Max() {
		t.Errorf("min/max = %d/%d, want %d/%d", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
	}
	if h.Count() != int64(len(vals)) {
		t.Errorf("count = %d", h.Count())
	}
}

func TestHistSmallValuesAreExact(t *testing.T) {
	h := NewHist()
	for v := int64(0); v < 1000; v++ {
		h.Record(v)
	}
	if got := h.Quantile(0.5); got != 499 {
		t.Errorf("median of 0..999 = %d, want 499", got)
	}
	if got := h.Quantile(0.9); got != 899 {
		t.Errorf("p90 of 0..999 = %d, want 899", got)
	}
	if h.Mean() != 499.5 {
		t.Errorf("mean = %v", h.Mean())
	}
}

func TestHistEdgeCases(t *testing.T) {
	h := NewHist()
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Min() != 0 || h.Mean() != 0 {
		t.Errorf("empty histogram should report zeros")
	}
	h.Record(-5) // clock skew: counts as 0
	h.Record(math.MaxInt64)
	if h.Min() != 0 || h.Max() != math.MaxInt64 || h.Quantile(0.99) != math.MaxInt64 {
		t.Errorf("min %d max %d p99 %d", h.Min(), h.Max(), h.Quantile(0.99))
	}
	for _, v := range []int64{1023, 1024, 1025, 2047, 2048, 1 << 40, 1<<40 + 12345} {
		i := histIndex(v)
		if hi := histHigh(i); hi < v || (i > 0 && histHigh(i-1) >= v) {
			t.Errorf("value %d in bucket %d whose range ends at %d (previous ends at %d)", v, i, hi, histHigh(i-1))
		}
	}
}

func TestHistMergeAndJSONRoundTrip(t *testing.T) {
	a, b, all := NewHist(), NewHist(), NewHist()
	for i := int64(1); i <= 5000; i++ {
		v := i * i * 37
		if i%2 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
		all.Record(v)
	}
	wire, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var back Hist
	if err := json.Unmarshal(wire, &back); err != nil {
		t.Fatal(err)
	}
	a.Merge(&back)
	for _, q := range []float64{0, 0.5, 0.99, 1} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("q%v: merged %d, direct %d", q, a.Quantile(q), all.Quantile(q))
		}
	}
	if a.Count() != all.Count() || a.Min() != all.Min() || a.Max() != all.Max() || a.Mean() != all.Mean() {
		t.Errorf("merged summary differs")
	}
	var empty Hist
	if err := json.Unmarshal([]byte(`{"n":0,"sub_bits":7,"buckets":[]}`), &empty); err == nil {
		t.Errorf("histogram with other sub-bucket bits accepted")
	}
}
