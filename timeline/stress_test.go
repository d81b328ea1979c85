package timeline

import (
	"sync/atomic"
	"testing"
)

type orderSink struct {
	t    *testing.T
	last uint64
	n    int
	lost uint64
}

func (s *orderSink) Deliver(_ *Timeline, e *Entry) int {
	if e.Seq <= s.last {
		s.t.Errorf("seq %d after %d", e.Seq, s.last)
	}
	s.last = e.Seq
	s.n++
	return 1
}
func (s *orderSink) Lost(_ *Timeline, n uint64) { s.lost += n }

// A loop draining two growing rings while the producer publishes keeps the
// global order and loses nothing (RED-10), under -race too.
func TestDrainOrderWhileRingsGrow(t *testing.T) {
	for round := 0; round < 20; round++ {
		h := NewHub(Options{Loops: 1, RingSize: 4096})
		var wakes atomic.Int32
		sink := &orderSink{t: t}
		r := h.NewReader(func() { wakes.Add(1) }, sink)
		a := h.Acquire("timeline:1", r)
		b := h.Acquire("timeline:1:notifications", r)
		const n = 3000
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < n; i++ {
				if i%3 == 0 {
					publish(h, b)
				} else {
					publish(h, a)
				}
			}
		}()
		for finished := false; !finished; {
			select {
			case <-done:
				finished = true
			default:
			}
			r.Drain(50)
		}
		r.Drain(1 << 30)
		if sink.n != n || sink.lost != 0 {
			t.Fatalf("round %d: delivered %d of %d, lost %d", round, sink.n, n, sink.lost)
		}
	}
}
