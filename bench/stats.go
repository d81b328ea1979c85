package bench

import (
	"sort"
	"sync"
	"sync/atomic"
)

// GroupSnap is the counters of one connection group at one moment. A
// worker sends them to the main process several times a second; the main
// process adds those of all workers.
type GroupSnap struct {
	Name        string `json:"name"`
	Slots       int64  `json:"slots"`       // connections this group may open
	Attempts    int64  `json:"attempts"`    // connect attempts started
	Established int64  `json:"established"` // attempts that became streams (cumulative)
	Open        int64  `json:"open"`        // streams open now
	Failed      int64  `json:"failed"`      // attempts that did not become streams
	Drops       int64  `json:"drops"`       // open streams the server ended
	Heartbeats  int64  `json:"heartbeats"`  // SSE :thump comments and WebSocket pings
	Events      int64  `json:"events"`      // complete events or messages received
	Marked      int64  `json:"marked"`      // events carrying this run's marker
	Unique      int64  `json:"unique"`      // first deliveries (fresh or late)
	Late        int64  `json:"late"`        // first deliveries that came after a later message
	Dup         int64  `json:"dup"`         // repeated deliveries
	Unexpected  int64  `json:"unexpected"`  // marked events for a channel this stream does not carry
	Foreign     int64  `json:"foreign"`     // marker events from another run
	SubErrors   int64  `json:"sub_errors"`  // WebSocket {"error":…} messages
	Redials     int64  `json:"redials"`     // streams the client closed to reconnect (storm, churn)
	// Active counts, per entry of Group.Channels, the connections that have
	// been established at least once: each expects every message published
	// on that channel from then on.
	Active []int64 `json:"active,omitempty"`
}

func (g *GroupSnap) add(o GroupSnap) {
	g.Slots += o.Slots
	g.Attempts += o.Attempts
	g.Established += o.Established
	g.Open += o.Open
	g.Failed += o.Failed
	g.Drops += o.Drops
	g.Heartbeats += o.Heartbeats
	g.Events += o.Events
	g.Marked += o.Marked
	g.Unique += o.Unique
	g.Late += o.Late
	g.Dup += o.Dup
	g.Unexpected += o.Unexpected
	g.Foreign += o.Foreign
	g.SubErrors += o.SubErrors
	g.Redials += o.Redials
	if len(g.Active) < len(o.Active) {
		g.Active = append(g.Active, make([]int64, len(o.Active)-len(g.Active))...)
	}
	for i, v := range o.Active {
		g.Active[i] += v
	}
}

// Snapshot is the state of one process (or, merged, of a fleet).
type Snapshot struct {
	At       int64            `json:"at"` // Unix ns
	Groups   []GroupSnap      `json:"groups"`
	Inflight int64            `json:"inflight"` // attempts still connecting or handshaking
	BytesIn  int64            `json:"bytes_in"`
	Failures map[string]int64 `json:"failures,omitempty"` // by reason
	Drops    map[string]int64 `json:"drops,omitempty"`    // by reason
	// ClientRSS is the resident memory of the client processes (bytes).
	ClientRSS int64 `json:"client_rss"`
	Procs     int   `json:"procs"`
	// LastEstablished and LastResolved are the Unix ns of the latest
	// attempt to succeed, and to succeed or fail: a storm's end.
	LastEstablished int64 `json:"last_established"`
	LastResolved    int64 `json:"last_resolved"`
}

// Total sums all groups.
func (s *Snapshot) Total() GroupSnap {
	t := GroupSnap{Name: "total"}
	for _, g := range s.Groups {
		a := g.Active
		g.Active = nil
		t.add(g)
		g.Active = a
	}
	return t
}

// Add merges another process's snapshot into s.
func (s *Snapshot) Add(o Snapshot) {
	s.At = max(s.At, o.At)
	for i, g := range o.Groups {
		if i >= len(s.Groups) {
			s.Groups = append(s.Groups, GroupSnap{Name: g.Name})
		}
		s.Groups[i].add(g)
	}
	s.Inflight += o.Inflight
	s.BytesIn += o.BytesIn
	s.Failures = addCounts(s.Failures, o.Failures)
	s.Drops = addCounts(s.Drops, o.Drops)
	s.ClientRSS += o.ClientRSS
	s.Procs += o.Procs
	s.LastEstablished = max(s.LastEstablished, o.LastEstablished)
	s.LastResolved = max(s.LastResolved, o.LastResolved)
}

func addCounts(dst, src map[string]int64) map[string]int64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]int64, len(src))
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}

// Result is a snapshot plus the histograms, sent when a phase ends.
type Result struct {
	Snapshot
	Establish *Hist   `json:"establish"` // connect start → response head, ns
	Latency   []*Hist `json:"latency"`   // per group: publish → receive, ns
}

// Add merges another process's result into r.
func (r *Result) Add(o Result) {
	r.Snapshot.Add(o.Snapshot)
	if r.Establish == nil {
		r.Establish = NewHist()
	}
	r.Establish.Merge(o.Establish)
	for i, h := range o.Latency {
		if i >= len(r.Latency) {
			r.Latency = append(r.Latency, NewHist())
		}
		r.Latency[i].Merge(h)
	}
}

// LatencyAll merges the per-group latency histograms.
func (r *Result) LatencyAll() *Hist {
	h := NewHist()
	for _, g := range r.Latency {
		h.Merge(g)
	}
	return h
}

// reasonCounts counts failure or drop reasons. Any goroutine.
type reasonCounts struct {
	mu sync.Mutex
	m  map[string]int64
}

func (r *reasonCounts) add(reason string) {
	r.mu.Lock()
	if r.m == nil {
		r.m = make(map[string]int64)
	}
	r.m[reason]++
	r.mu.Unlock()
}

func (r *reasonCounts) snapshot() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) == 0 {
		return nil
	}
	out := make(map[string]int64, len(r.m))
	for k, v := range r.m {
		out[k] = v
	}
	return out
}

// groupStats are the live counters behind a GroupSnap. Any goroutine.
type groupStats struct {
	slots, attempts, established, open, failed, drops atomic.Int64
	heartbeats, events, marked, unique, late, dup     atomic.Int64
	unexpected, foreign, subErrors, redials           atomic.Int64
	active                                            []atomic.Int64
	lat                                               atomic.Pointer[Hist]
}

func (g *groupStats) snap(name string) GroupSnap {
	s := GroupSnap{
		Name: name, Slots: g.slots.Load(), Attempts: g.attempts.Load(),
		Established: g.established.Load(), Open: g.open.Load(), Failed: g.failed.Load(),
		Drops: g.drops.Load(), Heartbeats: g.heartbeats.Load(), Events: g.events.Load(),
		Marked: g.marked.Load(), Unique: g.unique.Load(), Late: g.late.Load(), Dup: g.dup.Load(),
		Unexpected: g.unexpected.Load(), Foreign: g.foreign.Load(), SubErrors: g.subErrors.Load(),
		Redials: g.redials.Load(),
	}
	for i := range g.active {
		s.Active = append(s.Active, g.active[i].Load())
	}
	return s
}

// sortedKeys returns the keys of m, largest count first.
func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
