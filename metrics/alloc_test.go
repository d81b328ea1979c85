//go:build !race

package metrics

import (
	"testing"
	"time"
)

// Deterministic allocation counts (STYLE 6), kept out of -race builds, where
// checkptr may move values to the heap.

func TestWriterAllocs(t *testing.T) {
	h := NewHistogram(LatencyBuckets)
	h.Observe(0.003)
	w := Writer{B: make([]byte, 0, 64<<10)}
	allocs := testing.AllocsPerRun(100, func() {
		w.B = w.B[:0]
		writeScrape(&w, h)
	})
	if allocs != 0 {
		t.Errorf("writing a scrape allocates %v times", allocs)
	}
	for name, write := range map[string]func(){
		"Family": func() { w.Family("connected_clients", "gauge", "help with \\ and \n") },
		"Int":    func() { w.Int("connected_channels", 3, "type", "websocket", "channel", "public:local") },
		"Uint":   func() { w.Uint("messages_sent_total", 1<<63, "type", "eventsource") },
		"Float":  func() { w.Float("x", 0.0025, "k", "esc\"aped\n") },
		"Histogram": func() {
			w.Histogram("sluice_delivery_latency_seconds", h, "type", "websocket")
		},
	} {
		if allocs := testing.AllocsPerRun(100, func() { w.B = w.B[:0]; write() }); allocs != 0 {
			t.Errorf("%s allocates %v times", name, allocs)
		}
	}
}

func TestObserveAllocs(t *testing.T) {
	h := NewHistogram(LatencyBuckets)
	if allocs := testing.AllocsPerRun(1000, func() {
		h.Observe(0.042)
		h.ObserveDuration(3 * time.Millisecond)
	}); allocs != 0 {
		t.Errorf("Observe allocates %v times", allocs)
	}
}
