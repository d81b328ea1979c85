package timeline

import (
	"sync"
	"sync/atomic"
)

// Sink receives a loop's share of the timelines. Its methods run on the loop.
type Sink interface {
	// Deliver hands over entry e of timeline t; entries arrive in Seq order
	// across all timelines of the loop. It returns the work done (the
	// recipients offered the entry, at least 1), which Drain's budget counts.
	Deliver(t *Timeline, e *Entry) int
	// Lost reports that the loop fell more than a ring behind on t and
	// skipped n entries.
	Lost(t *Timeline, n uint64)
}

// Reader is one event loop's view of the hub: which timelines have news for
// it, and one pending wake-up at most. A burst of messages on any number of
// timelines costs the loop one scheduled task, and idle loops cost nothing.
type Reader struct {
	hub      *Hub
	idx      int
	schedule func() // runs Drain on the loop later; called at most once per Drain
	sink     Sink

	scheduled atomic.Bool
	draining  atomic.Bool // a Drain is running; written by the loop
	// done: every entry for this loop with Seq <= done has been handed to
	// the sink, for Hub.Inbound. Set by a complete Drain, and by the wake-up
	// of an idle reader (nothing of its was pending then).
	done atomic.Uint64
	gen  uint64 // drain number, for removing duplicates; loop-owned

	mu      sync.Mutex
	pending []*Timeline

	// Loop-owned scratch.
	work  []*Timeline
	iters []iter
}

type iter struct {
	t    *Timeline
	e    *Entry
	next uint64
}

// NewReader registers one event loop. schedule must arrange for Drain to run
// on that loop (gnet: EventLoop.Execute) without blocking. Call it before
// any Acquire; at most Options.Loops readers may be registered.
func (h *Hub) NewReader(schedule func(), sink Sink) *Reader {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.nreaders >= len(h.readers) {
		panic("timeline: more readers than Options.Loops")
	}
	r := &Reader{hub: h, idx: h.nreaders, schedule: schedule, sink: sink}
	h.readers[r.idx] = r
	h.nreaders++
	return r
}

// Index is the reader's position in the hub, stable for its life.
func (r *Reader) Index() int { return r.idx }

// wakeFor queues t and schedules one Drain if none is pending. Any goroutine.
func (r *Reader) wakeFor(t *Timeline) {
	// Always queue (Drain removes duplicates): a flag to skip queued
	// timelines races with the swap in Drain and can lose a wake-up.
	r.mu.Lock()
	r.pending = append(r.pending, t)
	r.mu.Unlock()
	if r.scheduled.CompareAndSwap(false, true) {
		if !r.draining.Load() {
			r.done.Store(r.hub.published.Load())
		}
		r.schedule()
	}
}

// Drain delivers, in global Redis order, every published entry of the queued
// timelines until the sink has reported budget units of work (recipients);
// the rest is rescheduled so one busy timeline cannot hold the loop away
// from its sockets. Runs on the loop.
func (r *Reader) Drain(budget int) {
	r.draining.Store(true)
	defer r.draining.Store(false)
	r.scheduled.Store(false)
	// The limit first: every entry with Seq <= limit was queued for this loop
	// before it was published, so its timeline is in the swap below and the
	// merge never delivers an entry before an older one of another timeline.
	limit := r.hub.published.Load()
	r.mu.Lock()
	r.work, r.pending = r.pending, r.work[:0]
	r.mu.Unlock()
	r.gen++
	unique := r.work[:0]
	for _, t := range r.work {
		if ls := &t.loops[r.idx]; ls.mark != r.gen {
			ls.mark = r.gen
			unique = append(unique, t)
		}
	}
	clear(r.work[len(unique):])
	r.work = unique

	r.iters = r.iters[:0]
	for _, t := range r.work {
		ls := &t.loops[r.idx]
		if ls.interest.Load() <= 0 {
			continue
		}
		if it, ok := r.first(t, limit); ok {
			r.iters = append(r.iters, it)
		}
	}
	complete := true
	for spent := 0; len(r.iters) > 0; {
		if spent >= budget {
			complete = false
			for i := range r.iters {
				r.iters[i].t.loops[r.idx].cursor.Store(r.iters[i].next - 1)
				r.wakeFor(r.iters[i].t)
			}
			break
		}
		m := 0
		for i := 1; i < len(r.iters); i++ {
			if r.iters[i].e.Seq < r.iters[m].e.Seq {
				m = i
			}
		}
		it := &r.iters[m]
		spent += max(1, r.sink.Deliver(it.t, it.e))
		if !r.advance(it, limit) {
			r.iters[m] = r.iters[len(r.iters)-1]
			r.iters = r.iters[:len(r.iters)-1]
		}
	}
	if complete {
		r.done.Store(limit)
	}
	// Entries past the limit that were queued before the swap are in this
	// work, not in pending: queue their timelines again.
	for _, t := range r.work {
		ls := &t.loops[r.idx]
		if ls.interest.Load() > 0 && t.ring.Head() > ls.cursor.Load() {
			r.wakeFor(t)
		}
	}
	clear(r.work) // drop references for the GC
}

// first positions an iterator on t's next entry with Seq <= limit.
func (r *Reader) first(t *Timeline, limit uint64) (iter, bool) {
	it := iter{t: t, next: t.loops[r.idx].cursor.Load()}
	return it, r.advance(&it, limit)
}

// advance moves it to the next entry with Seq <= limit, recording the cursor.
func (r *Reader) advance(it *iter, limit uint64) bool {
	ls := &it.t.loops[r.idx]
	e, next, lost, ok := it.t.ring.Read(it.next)
	if lost > 0 {
		r.hub.Stats.Lost.Add(lost)
		r.sink.Lost(it.t, lost)
	}
	if !ok || e.Seq > limit {
		ls.cursor.Store(next - boolToU64(ok))
		return false
	}
	it.e, it.next = e, next
	// The cursor names the oldest entry not yet delivered: the producer
	// reads it to decide whether it may overwrite or must grow the ring.
	ls.cursor.Store(next - 1)
	return true
}

func boolToU64(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
