package metrics

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHistogramOutput(t *testing.T) {
	h := NewHistogram([]float64{0.001, 0.5, 1, 2.5})
	for _, v := range []float64{0.0005, 0.001, 0.25, 0.5, 3, 100} {
		h.Observe(v)
	}
	h.ObserveDuration(750 * time.Millisecond)
	var w Writer
	w.Family("sluice_delivery_latency_seconds", "histogram", "Delivery latency.")
	w.Histogram("sluice_delivery_latency_seconds", h, "type", "websocket")
	w.Histogram("bare", NewHistogram([]float64{1}))
	want := `# HELP sluice_delivery_latency_seconds Delivery latency.
# TYPE sluice_delivery_latency_seconds histogram
sluice_delivery_latency_seconds_bucket{type="websocket",le="0.001"} 2
sluice_delivery_latency_seconds_bucket{type="websocket",le="0.5"} 4
sluice_delivery_latency_seconds_bucket{type="websocket",le="1"} 5
sluice_delivery_latency_seconds_bucket{type="websocket",le="2.5"} 5
sluice_delivery_latency_seconds_bucket{type="websocket",le="+Inf"} 7
sluice_delivery_latency_seconds_sum{type="websocket"} 104.5015
sluice_delivery_latency_seconds_count{type="websocket"} 7
bare_bucket{le="1"} 0
bare_bucket{le="+Inf"} 0
bare_sum 0
bare_count 0
`
	if got := string(w.B); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestLatencyBucketsLabels(t *testing.T) {
	var w Writer
	w.Histogram("l", NewHistogram(LatencyBuckets))
	want := []string{"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}
	for _, le := range want {
		if !strings.Contains(string(w.B), `l_bucket{le="`+le+`"} 0`+"\n") {
			t.Errorf("no le=%q bucket in\n%s", le, w.B)
		}
	}
}

func TestNewHistogramBounds(t *testing.T) {
	h := NewHistogram([]float64{1, 2, math.Inf(1)})
	if len(h.bounds) != 2 || len(h.counts) != 3 {
		t.Errorf("trailing +Inf kept: bounds %v, %d counters", h.bounds, len(h.counts))
	}
	in := []float64{1, 2}
	h = NewHistogram(in)
	in[0] = 5
	if h.bounds[0] != 1 {
		t.Error("NewHistogram keeps the caller's slice")
	}
	for _, bad := range [][]float64{{2, 1}, {1, 1}, {math.NaN()}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewHistogram(%v) did not panic", bad)
				}
			}()
			NewHistogram(bad)
		}()
	}
}

// TestHistogramConcurrent observes from many goroutines while a writer
// scrapes; run under -race. Every value is a small dyadic fraction, so the
// float sum is exact whatever order the additions land in.
func TestHistogramConcurrent(t *testing.T) {
	const goroutines, each = 8, 20000
	values := []float64{1.0 / 1024, 0.25, 0.75, 7}
	h := NewHistogram(LatencyBuckets)
	var observers, scraper sync.WaitGroup
	stop := make(chan struct{})
	scraper.Add(1)
	go func() {
		defer scraper.Done()
		var w Writer
		for {
			select {
			case <-stop:
				return
			default:
			}
			w.B = w.B[:0]
			w.Histogram("h", h)
		}
	}()
	for g := range goroutines {
		observers.Add(1)
		go func() {
			defer observers.Done()
			for i := range each {
				h.Observe(values[(g+i)%len(values)])
			}
		}()
	}
	observers.Wait()
	close(stop)
	scraper.Wait()

	var w Writer
	w.Histogram("h", h)
	n := goroutines * each
	perValue := n / len(values)
	sum := 0.0
	for _, v := range values {
		sum += v * float64(perValue)
	}
	for _, line := range []string{
		`h_bucket{le="0.0005"} 0`,
		`h_bucket{le="0.001"} ` + itoa(perValue),
		`h_bucket{le="0.25"} ` + itoa(2*perValue),
		`h_bucket{le="1"} ` + itoa(3*perValue),
		`h_bucket{le="5"} ` + itoa(3*perValue),
		`h_bucket{le="10"} ` + itoa(n),
		`h_bucket{le="+Inf"} ` + itoa(n),
		`h_sum ` + string(appendFloat(nil, sum)),
		`h_count ` + itoa(n),
	} {
		if !strings.Contains(string(w.B), line+"\n") {
			t.Errorf("missing %q in\n%s", line, w.B)
		}
	}
}

func itoa(n int) string { return string(appendFloat(nil, float64(n))) }
