package bench

import (
	"encoding/json"
	"errors"
	"math"
	"math/bits"
	"sync/atomic"
)

// Hist is a log-linear histogram of non-negative int64 values (nanoseconds
// here), in the manner of HdrHistogram: values below 2^histSubBits are
// counted exactly, larger ones in 2^(histSubBits-1) linear sub-buckets per
// power of two, so every reported value is within 1/512 (0.2 %) of a value
// that was recorded. The whole int64 range fits in 28,160 counters (220 KiB).
//
// Record may be called from any goroutine (atomic counters); Merge, the
// percentile queries and JSON encoding must not run concurrently with
// Record on the same histogram.
type Hist struct {
	counts []atomic.Int64
	n      atomic.Int64
	sum    atomic.Int64
	min    atomic.Int64
	max    atomic.Int64
}

const (
	histSubBits = 10
	histSub     = 1 << histSubBits // exact range and sub-buckets per doubling ×2
	histHalf    = histSub / 2
	histBuckets = histSub + (63-histSubBits)*histHalf
)

// NewHist returns an empty histogram.
func NewHist() *Hist {
	h := &Hist{counts: make([]atomic.Int64, histBuckets)}
	h.min.Store(math.MaxInt64)
	return h
}

// histIndex maps a value to its counter.
func histIndex(v int64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - histSubBits // ≥ 1
	sub := int(v >> uint(e))                 // in [histHalf, histSub)
	return histSub + (e-1)*histHalf + sub - histHalf
}

// histHigh is the largest value that maps to counter i: percentiles report
// it, like HdrHistogram's highestEquivalentValue, so they never understate.
func histHigh(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	e := (i-histSub)/histHalf + 1
	sub := int64((i-histSub)%histHalf + histHalf)
	return (sub+1)<<uint(e) - 1
}

// Record adds one value; negative values count as 0.
func (h *Hist) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[histIndex(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.min.Load()
		if v >= m || h.min.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// Count is the number of recorded values.
func (h *Hist) Count() int64 { return h.n.Load() }

// Max is the largest recorded value (0 when empty).
func (h *Hist) Max() int64 { return h.max.Load() }

// Min is the smallest recorded value (0 when empty).
func (h *Hist) Min() int64 {
	if h.n.Load() == 0 {
		return 0
	}
	return h.min.Load()
}

// Mean is the exact arithmetic mean (0 when empty).
func (h *Hist) Mean() float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return float64(h.sum.Load()) / float64(n)
}

// Quantile returns the value at quantile q in [0, 1]: the smallest bucket
// bound with at least ceil(q·n) values at or below it, capped by the exact
// maximum. Quantile(1) is the maximum; an empty histogram gives 0.
func (h *Hist) Quantile(q float64) int64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	if q >= 1 {
		return h.max.Load()
	}
	rank := int64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var cum int64
	for i := range h.counts {
		cum += h.counts[i].Load()
		if cum >= rank {
			return min(histHigh(i), h.max.Load())
		}
	}
	return h.max.Load()
}

// Merge adds every value of o to h.
func (h *Hist) Merge(o *Hist) {
	if o == nil || o.n.Load() == 0 {
		return
	}
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.n.Add(o.n.Load())
	h.sum.Add(o.sum.Load())
	h.min.Store(min(h.min.Load(), o.min.Load()))
	h.max.Store(max(h.max.Load(), o.max.Load()))
}

// histJSON is the sparse wire form used between worker processes: only
// non-zero counters travel, as [index, count] pairs.
type histJSON struct {
	N       int64      `json:"n"`
	Sum     int64      `json:"sum"`
	Min     int64      `json:"min"`
	Max     int64      `json:"max"`
	SubBits int        `json:"sub_bits"`
	Buckets [][2]int64 `json:"buckets"`
}

// MarshalJSON encodes the histogram sparsely.
func (h *Hist) MarshalJSON() ([]byte, error) {
	j := histJSON{N: h.n.Load(), Sum: h.sum.Load(), Min: h.Min(), Max: h.max.Load(), SubBits: histSubBits}
	j.Buckets = [][2]int64{}
	for i := range h.counts {
		if c := h.counts[i].Load(); c != 0 {
			j.Buckets = append(j.Buckets, [2]int64{int64(i), c})
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (h *Hist) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.SubBits != histSubBits {
		return errors.New("bench: histogram from a different sluice-bench build (sub-bucket bits differ)")
	}
	*h = Hist{counts: make([]atomic.Int64, histBuckets)}
	h.min.Store(math.MaxInt64)
	if j.N > 0 {
		h.min.Store(j.Min)
	}
	h.n.Store(j.N)
	h.sum.Store(j.Sum)
	h.max.Store(j.Max)
	for _, b := range j.Buckets {
		if b[0] < 0 || b[0] >= histBuckets {
			return errors.New("bench: histogram bucket index out of range")
		}
		h.counts[b[0]].Store(b[1])
	}
	return nil
}
