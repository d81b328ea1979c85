package metrics

import (
	"math"
	"sort"
	"strconv"
	"sync/atomic"
	"time"
)

// LatencyBuckets are the default upper bounds, in seconds, for delivery
// latency: from half a millisecond, where a healthy loop delivers, to
// ten seconds, where a slow consumer is about to be cut off.
var LatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Histogram is a fixed-bucket histogram. Observe may be called from any
// goroutine, concurrently with Writer.Histogram; it takes no lock and
// allocates nothing, so event loops can observe every delivery.
//
// Each bucket is an atomic counter of the observations that fell in it alone;
// the writer makes them cumulative from one pass of loads, so the +Inf bucket
// always equals _count. The sum is a float64 kept as atomic bits and updated
// with a compare-and-swap loop: it works for any unit (not only durations),
// and a retry costs less than a lock under the contention of a few loops. The
// sum may trail the buckets by the observations in flight during a scrape.
type Histogram struct {
	bounds  []float64
	les     []string        // bounds formatted once for the le label
	counts  []atomic.Uint64 // len(bounds)+1; the last is the +Inf bucket
	sumBits atomic.Uint64
}

// NewHistogram returns a histogram with the given upper bounds, which must
// be strictly ascending and not NaN; +Inf is implied (a trailing +Inf is
// dropped). It panics on bad bounds, which are a programming error.
func NewHistogram(bounds []float64) *Histogram {
	if n := len(bounds); n > 0 && math.IsInf(bounds[n-1], 1) {
		bounds = bounds[:n-1]
	}
	h := &Histogram{
		bounds: append([]float64(nil), bounds...),
		les:    make([]string, len(bounds)),
		counts: make([]atomic.Uint64, len(bounds)+1),
	}
	for i, b := range h.bounds {
		if math.IsNaN(b) || (i > 0 && b <= h.bounds[i-1]) {
			panic("metrics: histogram bounds must be strictly ascending and not NaN")
		}
		h.les[i] = string(appendFloat(nil, b))
	}
	return h
}

// Observe records v. v lands in the first bucket whose bound is >= v; NaN
// lands only in +Inf (and makes the sum NaN, as in client_golang).
func (h *Histogram) Observe(v float64) {
	h.counts[sort.SearchFloat64s(h.bounds, v)].Add(1)
	for {
		old := h.sumBits.Load()
		if h.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// ObserveDuration observes d in seconds.
func (h *Histogram) ObserveDuration(d time.Duration) {
	h.Observe(d.Seconds())
}

// Histogram writes name_bucket{labels...,le="..."} with cumulative counts
// (le last, ending with le="+Inf"), then name_sum{labels} and
// name_count{labels}. It does not write HELP/TYPE: call Family once for the
// family, then Histogram once per label set.
func (w *Writer) Histogram(name string, h *Histogram, labels ...string) {
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		le := "+Inf"
		if i < len(h.les) {
			le = h.les[i]
		}
		w.head(name, "_bucket", labels, le)
		w.B = append(strconv.AppendUint(w.B, cum, 10), '\n')
	}
	w.head(name, "_sum", labels, "")
	w.B = append(appendFloat(w.B, math.Float64frombits(h.sumBits.Load())), '\n')
	w.head(name, "_count", labels, "")
	w.B = append(strconv.AppendUint(w.B, cum, 10), '\n')
}
