package timeline

import "testing"

// BenchmarkRingPushRead is the ring's cost per entry: one producer push and
// one reader advance.
func BenchmarkRingPushRead(b *testing.B) {
	r := NewRing(4096, 4096)
	e := &Entry{}
	var cur uint64
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Push(e, 0)
		_, next, _, ok := r.Read(cur)
		if !ok {
			b.Fatal("empty")
		}
		cur = next
	}
}

type nopSink struct{ n int }

func (s *nopSink) Deliver(*Timeline, *Entry) int { s.n++; return 1 }
func (s *nopSink) Lost(*Timeline, uint64)        {}

// BenchmarkIngest is decode + encode + publish of one status message on a
// filtered channel with one interested loop: the per-event cost that does
// not depend on the number of subscribers.
func BenchmarkIngest(b *testing.B) {
	h := NewHub(Options{Loops: 1, RingSize: 4096})
	sink := &nopSink{}
	r := h.NewReader(func() {}, sink)
	t := h.Acquire("timeline:public", r)
	h.WSVariant(t, []byte(`["public"]`))
	msg := []byte(`{"event":"update","payload":{"id":"115600000000000001","language":"en","content":"<p>Hello</p>","account":{"id":"109000000000000002","username":"bob","acct":"bob"},"media_attachments":[],"mentions":[]}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for i := 0; i < b.N; i++ {
		h.Ingest("timeline:public", msg)
		r.Drain(1 << 20)
	}
	if sink.n != b.N {
		b.Fatalf("delivered %d of %d", sink.n, b.N)
	}
}
