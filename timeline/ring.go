// Package timeline holds what sits between Redis and the event loops: channel
// names, one ring of encoded events per Redis channel, and the subscriber that
// feeds the rings.
//
// # Ring design
//
// Each Timeline has a fixed-size single-producer, multi-reader ring of
// immutable *Entry values (the LMAX Disruptor layout without back-pressure).
// The only writer is the Redis reader goroutine; every event loop reads with
// its own cursor and never writes to the ring.
//
// Invariant: a reader sees slot i only after the producer has stored the entry
// in slot i and then published head = i+1 (release/acquire through the
// atomics). Rings start small and double, up to a maximum, when the next push
// would overwrite an entry a listening loop has not read (the loops publish
// their cursors atomically); a grown ring's storage is published before the
// head that needs it, and the old storage is never written again. The
// producer never waits: a reader that falls more than the maximum behind
// finds, at its cursor, either head-cursor > capacity or a slot holding an
// entry with a larger index than the one it asked for, and in both cases
// skips to the oldest entry still in the ring, counting the entries it lost.
// Entries are garbage collected, so an overwritten entry that a reader still
// holds stays valid.
package timeline

import (
	"sync/atomic"
	"time"

	"github.com/sluice/sluice/proto"
)

// Kind tells the loops what an entry means.
type Kind uint8

const (
	// KindEvent is an event for the stream's subscribers.
	KindEvent Kind = iota
	// KindKill ends every connection bound to the system channel (SYS-2).
	KindKill
	// KindIgnored is a system-channel message that has no effect on the loops
	// (filters_changed is handled by the producer, SYS-4).
	KindIgnored
)

// Entry is one Redis message, decoded and encoded once for every recipient.
// It is immutable once published.
type Entry struct {
	// Seq is global across all timelines of a Hub and increases by one per
	// published entry, so loops can deliver several timelines in Redis order.
	Seq  uint64
	Kind Kind
	// Received is when the message arrived from Redis, for the
	// delivery-latency histogram; monotonic.
	Received time.Time
	// Event is the decoded message (KindEvent only).
	Event proto.Event
	// Status is set for update and status.update on filtered channels
	// (public*, hashtag*): what per-recipient filtering looks at (§8).
	Status *Status
	// SSE is the event as one HTTP/1.1 chunk; SSE[SSEBody:len(SSE)-2] is the
	// unframed body for close-delimited (HTTP/1.0) responses.
	SSE     []byte
	SSEBody int
	// WS holds the event as one WebSocket text frame per stream-name
	// variant registered on the timeline when it was published (see
	// Hub.WSVariant); later variants are encoded by the loop.
	WS [][]byte

	idx uint64 // position in its ring
}

// SSEUnchunked returns the event without chunk framing.
func (e *Entry) SSEUnchunked() []byte { return e.SSE[e.SSEBody : len(e.SSE)-2] }

// Ring is a single-producer multi-reader ring of entries; see the package doc.
type Ring struct {
	slots atomic.Pointer[slots]
	head  atomic.Uint64 // index of the next entry to be written
	max   uint64        // capacity the ring may grow to
}

// slots is one generation of the ring's storage. A grown ring gets a new,
// larger generation; readers holding the old one still find valid entries
// there because the producer never writes to it again.
type slots struct {
	s    []atomic.Pointer[Entry]
	mask uint64
}

func newSlots(size uint64) *slots {
	return &slots{s: make([]atomic.Pointer[Entry], size), mask: size - 1}
}

// NewRing returns a ring that starts with room for size entries and grows,
// while readers lag, up to max entries; both must be powers of two.
// Most channels (a user's home, a token's system channel) never need more
// than a few slots, so memory follows the traffic of each channel.
func NewRing(size, max int) *Ring {
	if size <= 0 || size&(size-1) != 0 || max < size || max&(max-1) != 0 {
		panic("timeline: ring sizes must be powers of two with size <= max")
	}
	r := &Ring{max: uint64(max)}
	r.slots.Store(newSlots(uint64(size)))
	return r
}

// Push appends e. oldest is the smallest cursor of the readers that listen:
// when writing would overwrite an entry one of them has not read, the ring
// doubles (up to max) instead. Producer only.
func (r *Ring) Push(e *Entry, oldest uint64) {
	i := r.head.Load()
	a := r.slots.Load()
	if size := a.mask + 1; oldest < i && i-oldest >= size && size < r.max {
		b := newSlots(min(r.max, size*2))
		for j := i - min(i-oldest, size); j < i; j++ {
			b.s[j&b.mask].Store(a.s[j&a.mask].Load())
		}
		r.slots.Store(b) // before head: a reader that sees i+1 sees b
		a = b
	}
	e.idx = i
	a.s[i&a.mask].Store(e)
	r.head.Store(i + 1)
}

// Head is the index one past the newest entry. Any goroutine.
func (r *Ring) Head() uint64 { return r.head.Load() }

// Cap is the number of entries the ring keeps now.
func (r *Ring) Cap() uint64 { return r.slots.Load().mask + 1 }

// Read returns the entry at cursor, or the oldest retained entry after it if
// the producer has overwritten cursor, with lost = how many were skipped.
// ok is false when cursor has reached head. Any goroutine.
func (r *Ring) Read(cursor uint64) (e *Entry, next uint64, lost uint64, ok bool) {
	for {
		h := r.head.Load()
		a := r.slots.Load() // after head: holds every entry below h
		if cursor >= h {
			return nil, cursor, lost, false
		}
		if size := a.mask + 1; h-cursor > size {
			lost += h - size - cursor
			cursor = h - size
		}
		e = a.s[cursor&a.mask].Load()
		switch {
		case e != nil && e.idx == cursor:
			return e, cursor + 1, lost, true
		case e == nil || e.idx < cursor:
			// Not carried over when the ring grew: this reader was not
			// listening then. Skip it.
			lost++
			cursor++
		}
		// Otherwise overwritten between the head load and the slot load:
		// retry from the new head, which says how far behind we are.
	}
}
