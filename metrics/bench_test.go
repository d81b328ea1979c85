package metrics

import (
	"testing"
	"time"
)

// channels are the connected_channels series MET-3 requires from start-up.
var channels = []string{"system", "user", "user:notification", "list", "direct", "public", "public:media",
	"public:local", "public:local:media", "public:remote", "public:remote:media", "hashtag", "hashtag:local"}

// writeScrape writes the MET-2/MET-3 families and a delivery-latency
// histogram: about 40 samples plus 34 histogram lines, the shape of a
// /metrics response before the process and go_* families.
func writeScrape(w *Writer, h *Histogram) {
	types := [...]string{"websocket", "eventsource"}
	w.Family("connected_clients", "gauge", "The number of clients connected to the streaming server")
	for _, typ := range types {
		w.Int("connected_clients", 12345, "type", typ)
	}
	w.Family("connected_channels", "gauge", "The number of channels the streaming server is streaming to")
	for _, typ := range types {
		for _, ch := range channels {
			w.Int("connected_channels", 2345, "type", typ, "channel", ch)
		}
	}
	w.Family("redis_subscriptions", "gauge", "The number of Redis channels the streaming server is subscribed to")
	w.Int("redis_subscriptions", 42)
	w.Family("redis_messages_received_total", "counter", "The total number of messages the streaming server has received from redis subscriptions")
	w.Uint("redis_messages_received_total", 987654321)
	w.Family("messages_sent_total", "counter", "The total number of messages the streaming server sent to clients per connection type")
	for _, typ := range types {
		w.Uint("messages_sent_total", 123456789012, "type", typ)
	}
	w.Family("sluice_delivery_latency_seconds", "histogram", "Delay from Redis receipt to socket write.")
	for _, typ := range types {
		w.Histogram("sluice_delivery_latency_seconds", h, "type", typ)
	}
}

func BenchmarkObserve(b *testing.B) {
	h := NewHistogram(LatencyBuckets)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Observe(float64(i%1000) * 1e-4)
	}
}

// BenchmarkObserveParallel measures the cost of the shared counters and the
// sum's compare-and-swap when every core observes at once.
func BenchmarkObserveParallel(b *testing.B) {
	h := NewHistogram(LatencyBuckets)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.ObserveDuration(1500 * time.Microsecond)
		}
	})
}

func BenchmarkWriteScrape(b *testing.B) {
	h := NewHistogram(LatencyBuckets)
	for i := range 1000 {
		h.Observe(float64(i) * 1e-3)
	}
	var w Writer
	b.ReportAllocs()
	for b.Loop() {
		w.B = w.B[:0]
		writeScrape(&w, h)
	}
	b.SetBytes(int64(len(w.B)))
}

func BenchmarkWriteProcess(b *testing.B) {
	var w Writer
	b.ReportAllocs()
	for b.Loop() {
		w.B = w.B[:0]
		if err := WriteProcess(&w); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteGo(b *testing.B) {
	var w Writer
	b.ReportAllocs()
	for b.Loop() {
		w.B = w.B[:0]
		WriteGo(&w)
	}
}
