package timeline

import (
	"sync/atomic"
	"testing"
)

type recordSink struct {
	got  []uint64
	by   map[*Timeline][]uint64
	lost uint64
}

func (s *recordSink) Deliver(t *Timeline, e *Entry) int {
	s.got = append(s.got, e.Seq)
	if s.by == nil {
		s.by = map[*Timeline][]uint64{}
	}
	s.by[t] = append(s.by[t], e.Seq)
	return 1
}
func (s *recordSink) Lost(_ *Timeline, n uint64) { s.lost += n }

func publish(h *Hub, t *Timeline) { h.publish(t, &Entry{}) }

// A burst on several timelines costs each interested loop one scheduled
// task, and the loop receives the entries in global (Redis) order (RED-10).
func TestReaderCoalescesAndKeepsGlobalOrder(t *testing.T) {
	h := NewHub(Options{Loops: 2, RingSize: 1024})
	var sched [2]atomic.Int32
	sinks := [2]*recordSink{{}, {}}
	r0 := h.NewReader(func() { sched[0].Add(1) }, sinks[0])
	r1 := h.NewReader(func() { sched[1].Add(1) }, sinks[1])
	a := h.Acquire("timeline:1", r0)
	b := h.Acquire("timeline:1:notifications", r0)
	for i := 0; i < 1000; i++ {
		if i%3 == 0 {
			publish(h, b)
		} else {
			publish(h, a)
		}
	}
	if sched[0].Load() != 1 {
		t.Fatalf("loop 0 scheduled %d tasks for a burst, want 1", sched[0].Load())
	}
	if sched[1].Load() != 0 {
		t.Fatalf("idle loop 1 was scheduled %d times", sched[1].Load())
	}
	r0.Drain(1 << 20)
	if len(sinks[0].got) != 1000 {
		t.Fatalf("delivered %d, want 1000", len(sinks[0].got))
	}
	for i, s := range sinks[0].got {
		if s != uint64(i+1) {
			t.Fatalf("entry %d has seq %d: not in global order", i, s)
		}
	}
	_ = r1
}

// The budget bounds one drain; the rest is rescheduled, not lost.
func TestReaderBudgetReschedules(t *testing.T) {
	h := NewHub(Options{Loops: 1, RingSize: 1024})
	var sched atomic.Int32
	sink := &recordSink{}
	r := h.NewReader(func() { sched.Add(1) }, sink)
	a := h.Acquire("timeline:public", r)
	for i := 0; i < 100; i++ {
		publish(h, a)
	}
	r.Drain(30)
	if len(sink.got) != 30 || sched.Load() != 2 {
		t.Fatalf("after budgeted drain: delivered %d scheduled %d; want 30 and 2", len(sink.got), sched.Load())
	}
	for sched.Load() < 10 && len(sink.got) < 100 {
		r.Drain(30)
	}
	for i, s := range sink.got {
		if s != uint64(i+1) {
			t.Fatalf("entry %d has seq %d", i, s)
		}
	}
	if len(sink.got) != 100 {
		t.Fatalf("delivered %d of 100", len(sink.got))
	}
}

// A loop that subscribes late starts at the ring's head; one that falls a
// ring behind skips and counts the loss.
func TestReaderLateJoinAndOverrun(t *testing.T) {
	h := NewHub(Options{Loops: 1, RingSize: 16})
	sink := &recordSink{}
	r := h.NewReader(func() {}, sink)
	other := h.NewReader // silence unused in older vets
	_ = other
	a := h.Acquire("timeline:public", r)
	for i := 0; i < 40; i++ {
		publish(h, a)
	}
	r.Drain(1 << 20)
	if sink.lost != 24 || len(sink.got) != 16 || sink.got[0] != 25 {
		t.Fatalf("lost %d delivered %d first %v; want 24, 16, 25", sink.lost, len(sink.got), sink.got[:1])
	}
	h.Release(a, r)
	publish(h, a) // nobody listens: no delivery
	b := h.Acquire("timeline:public", r)
	if b != a {
		t.Fatal("timeline re-created while lingering")
	}
	publish(h, a)
	sink.got = nil
	r.Drain(1 << 20)
	if len(sink.got) != 1 || sink.got[0] != 42 {
		t.Fatalf("late join got %v, want [42]", sink.got)
	}
}
