package timeline

import (
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice/sluice/proto"
)

// Options configure a Hub.
type Options struct {
	// Namespace is REDIS_NAMESPACE; empty means none (STR-3, STR-4).
	Namespace string
	// RingSize is the most entries a timeline ring grows to (power of two);
	// rings start small and grow only while a loop lags behind.
	RingSize int
	// Loops is the number of readers (event loops) that will register.
	Loops int
	// Linger keeps an unused Redis subscription this long so reconnect
	// storms do not churn SUBSCRIBE/UNSUBSCRIBE (RED-2 allows up to 5 s).
	Linger time.Duration
	// KeyRefresh is how often live subscribed: keys are rewritten (STR-8
	// requires at most 360 s).
	KeyRefresh time.Duration
	// OnFiltersChanged runs on the Redis reader goroutine when
	// filters_changed arrives on timeline:system:<account> (SYS-4).
	OnFiltersChanged func(account int64)
	Logger           *slog.Logger
}

// Hub owns every Timeline, the per-loop Readers and the Redis subscriber.
//
// Lock order: Hub.mu, then Reader.mu. Neither is held during I/O.
type Hub struct {
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	timelines map[string]*Timeline // by channel name without namespace
	// Work for the Redis manager, under mu, so that it never scans every
	// timeline while the loops wait for mu: timelines that need a
	// SUBSCRIBE, and the times their last subscriber left, oldest first.
	toSubscribe []*Timeline
	idleQ       []idleMark
	idleHead    int
	// readers has one slot per loop, allocated once so that Ingest can read
	// a slot without Hub.mu while NewReader fills another: a slot is set
	// before its loop's first Acquire, and Ingest only reads slots whose
	// interest it has seen (atomics order the two).
	readers  []*Reader
	nreaders int // slots filled; under mu

	produce   sync.Mutex    // single-producer guard across Redis reconnects
	seq       uint64        // last assigned Seq; under produce
	published atomic.Uint64 // every entry with Seq <= published is visible in its ring

	wake chan struct{} // tells the Redis manager that subscriptions changed

	// keysPending are subscribed: keys whose write failed; Run's goroutine only.
	keysPending []string
	keysFailing bool

	Stats Stats
}

// Stats are counters for metrics and the status endpoints. Any goroutine.
type Stats struct {
	RedisConnected   atomic.Bool
	RedisChannels    atomic.Int64 // channels subscribed in Redis
	MessagesReceived atomic.Uint64
	Malformed        atomic.Uint64
	Lost             atomic.Uint64 // entries readers skipped after being overrun
	Reconnects       atomic.Uint64
}

// Timeline is one Redis channel: its ring and who listens to it.
type Timeline struct {
	// Channel is the channel name without the Redis namespace.
	Channel string
	// System marks timeline:access_token:<id> and timeline:system:<a> (§12).
	System bool
	// redis is Channel with the namespace, as subscribed (STR-3).
	redis string
	ring  *Ring

	refs      int       // under Hub.mu
	idleSince time.Time // under Hub.mu; when refs last dropped to 0

	loops []loopState

	// wsNames are the WebSocket stream-name arrays subscribers of this
	// timeline use (["public"], ["hashtag","Café"] …), indexed by variant.
	// Copy-on-write under Hub.mu; only grows while the timeline lives.
	wsNames atomic.Pointer[[][]byte]
}

// idleMark records that t lost its last subscriber at since. A mark is
// stale once t was acquired again or released later (t.idleSince moved).
type idleMark struct {
	t     *Timeline
	since time.Time
}

type loopState struct {
	interest atomic.Int32 // subscriptions of this loop
	mark     uint64       // Reader.gen of the last drain that took it; loop-owned
	// cursor is the next ring index to read. Only the loop writes it; the
	// producer reads it to grow the ring instead of overrunning the loop.
	cursor atomic.Uint64
	_      [40]byte // keep loops' hot fields on separate cache lines
}

// NewHub returns a Hub. Call Run to connect it to Redis.
func NewHub(opts Options) *Hub {
	if opts.RingSize == 0 {
		opts.RingSize = 4096
	}
	if opts.Loops <= 0 {
		opts.Loops = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Hub{
		opts:      opts,
		log:       opts.Logger,
		timelines: make(map[string]*Timeline),
		readers:   make([]*Reader, opts.Loops),
		wake:      make(chan struct{}, 1),
	}
}

// Acquire subscribes reader r's loop to channel and returns its Timeline.
// The first subscriber anywhere makes the Redis subscription. Runs on r's loop.
func (h *Hub) Acquire(channel string, r *Reader) *Timeline {
	h.mu.Lock()
	t := h.timelines[channel]
	created := t == nil
	if created {
		t = &Timeline{
			Channel: channel,
			redis:   h.redisName(channel),
			System:  strings.HasPrefix(channel, "timeline:access_token:") || strings.HasPrefix(channel, "timeline:system:"),
			ring:    NewRing(initialRing, h.ringSize(channel)),
			loops:   make([]loopState, h.opts.Loops),
		}
		h.timelines[channel] = t
		h.toSubscribe = append(h.toSubscribe, t)
	}
	// A lingering timeline is still subscribed; if its UNSUBSCRIBE is
	// under way, sync sees the new reference and subscribes it again.
	t.refs++
	h.mu.Unlock()
	ls := &t.loops[r.idx]
	if ls.interest.Add(1) == 1 {
		ls.cursor.Store(t.ring.Head())
	}
	if created {
		h.signal()
	}
	return t
}

// Release undoes one Acquire. The Redis subscription lingers for
// Options.Linger after the last subscriber leaves. Runs on r's loop.
func (h *Hub) Release(t *Timeline, r *Reader) {
	t.loops[r.idx].interest.Add(-1)
	h.mu.Lock()
	t.refs--
	if t.refs == 0 {
		t.idleSince = time.Now()
		h.idleQ = append(h.idleQ, idleMark{t, t.idleSince})
	}
	h.mu.Unlock()
}

func (h *Hub) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Ingest decodes one Redis message and appends it to its timeline's ring,
// waking the loops that listen. It is the single producer: the Redis reader
// goroutine calls it (tests may call it directly). redisChannel carries the
// namespace.
func (h *Hub) Ingest(redisChannel string, msg []byte) {
	h.Stats.MessagesReceived.Add(1)
	channel, ok := h.stripNamespace(redisChannel)
	if !ok {
		return
	}
	h.mu.Lock()
	t := h.timelines[channel]
	h.mu.Unlock()
	if t == nil {
		return
	}
	received := time.Now()
	e := h.decode(t, msg)
	if e == nil {
		return
	}
	e.Received = received
	h.publish(t, e)
}

// publish appends e to t's ring and wakes the loops that listen. The wake-ups
// happen before published moves past e.Seq: a loop that reads a limit >= Seq
// therefore finds t among its queued timelines (see Reader.Drain).
func (h *Hub) publish(t *Timeline, e *Entry) {
	h.produce.Lock()
	defer h.produce.Unlock()
	h.seq++
	e.Seq = h.seq
	t.ring.Push(e, t.oldestCursor())
	for i := range t.loops {
		if t.loops[i].interest.Load() > 0 {
			h.readers[i].wakeFor(t)
		}
	}
	h.published.Store(e.Seq)
}

func (h *Hub) stripNamespace(redisChannel string) (string, bool) {
	if h.opts.Namespace == "" {
		return redisChannel, true
	}
	rest, ok := strings.CutPrefix(redisChannel, h.opts.Namespace)
	if !ok || len(rest) == 0 || rest[0] != ':' {
		return "", false
	}
	return rest[1:], true
}

// redisName is the namespaced form of a channel or key (STR-3).
func (h *Hub) redisName(name string) string {
	if h.opts.Namespace == "" {
		return name
	}
	return h.opts.Namespace + ":" + name
}

// decode turns a message into an entry, or nil if nothing is to be delivered.
func (h *Hub) decode(t *Timeline, msg []byte) *Entry {
	if t.System {
		switch proto.SystemEventName(msg) {
		case "kill":
			return &Entry{Kind: KindKill}
		case "filters_changed":
			if acct, ok := strings.CutPrefix(t.Channel, "timeline:system:"); ok && h.opts.OnFiltersChanged != nil {
				if id, err := strconv.ParseInt(acct, 10, 64); err == nil {
					h.opts.OnFiltersChanged(id)
				}
			}
		}
		return nil // SYS-4, SYS-5: anything else is ignored
	}
	ev, ok, err := proto.ParseEvent(msg)
	if err != nil {
		h.Stats.Malformed.Add(1)
		h.log.Error("dropping malformed Redis message", "channel", t.Channel, "error", err)
		return nil
	}
	if !ok {
		return nil
	}
	e := &Entry{Kind: KindEvent, Event: ev}
	if filteredChannel(t.Channel) && filterable(ev.Name) {
		st, payload, err := prepareStatus(&e.Event)
		if err != nil {
			h.Stats.Malformed.Add(1)
			h.log.Error("dropping malformed status", "channel", t.Channel, "event", ev.Name, "error", err)
			return nil
		}
		e.Status = st
		e.Event.Payload, e.Event.PayloadIsString = payload, false
	}
	if names := t.wsNames.Load(); names != nil {
		e.WS = make([][]byte, len(*names))
		for i, name := range *names {
			e.WS[i] = EncodeWS(name, &e.Event)
		}
	}
	body := proto.AppendSSEEvent(nil, ev.Name, e.Event.Payload)
	e.SSE = proto.AppendChunk(make([]byte, 0, len(body)+12), body)
	e.SSEBody = len(e.SSE) - len(body) - 2
	return e
}

// Inbound is how many published messages the furthest-behind loop has not
// yet fanned out: zero for a loop with nothing queued. Any goroutine.
func (h *Hub) Inbound() uint64 {
	published := h.published.Load()
	var worst uint64
	h.mu.Lock()
	readers := h.readers[:h.nreaders]
	h.mu.Unlock()
	for _, r := range readers {
		if !r.scheduled.Load() && !r.draining.Load() {
			continue // caught up
		}
		if done := r.done.Load(); published > done {
			worst = max(worst, published-done)
		}
	}
	return worst
}

// ChannelRef is a stream timeline and its subscription count.
type ChannelRef struct {
	Channel string
	Refs    int
}

// ChannelRefs appends every stream timeline with subscribers (X-2 detail).
// Any goroutine; it holds the hub lock only to copy.
func (h *Hub) ChannelRefs(dst []ChannelRef) []ChannelRef {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, t := range h.timelines {
		if !t.System && t.refs > 0 {
			dst = append(dst, ChannelRef{name, t.refs})
		}
	}
	return dst
}

// Channels returns how many timelines exist and how many are in use.
func (h *Hub) Channels() (total, used int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.timelines {
		if t.refs > 0 {
			used++
		}
	}
	return len(h.timelines), used
}

// WSVariant registers a WebSocket stream-name array for t and returns its
// index into Entry.WS, or -1 past the limits below. Any goroutine.
func (h *Hub) WSVariant(t *Timeline, name []byte) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var cur [][]byte
	if p := t.wsNames.Load(); p != nil {
		cur = *p
	}
	for i, n := range cur {
		if string(n) == string(name) {
			return i
		}
	}
	if len(cur) >= maxWSVariants || len(name) > maxWSVariantName {
		return -1
	}
	next := append(append(make([][]byte, 0, len(cur)+1), cur...), append([]byte(nil), name...))
	t.wsNames.Store(&next)
	return len(next) - 1
}

// EncodeWS renders ev for stream name as one WebSocket text frame (WS-6).
func EncodeWS(name []byte, ev *proto.Event) []byte {
	msg := proto.AppendWSEvent(make([]byte, 0, len(ev.Payload)+len(name)+64), name, ev)
	return proto.AppendTextFrame(make([]byte, 0, len(msg)+10), msg)
}

// initialRing is where every ring starts; it doubles while a loop lags.
const initialRing = 16

// ringSize is how far a channel's ring may grow (Options.RingSize). A system
// channel only ever carries kill, so it stays small; the others grow with
// their bursts.
func (h *Hub) ringSize(channel string) int {
	if strings.HasPrefix(channel, "timeline:access_token:") || strings.HasPrefix(channel, "timeline:system:") {
		return max(initialRing, min(16, h.opts.RingSize))
	}
	return max(initialRing, h.opts.RingSize)
}

// oldestCursor is the smallest cursor of the loops listening to t. Producer.
func (t *Timeline) oldestCursor() uint64 {
	oldest := t.ring.Head()
	for i := range t.loops {
		if t.loops[i].interest.Load() > 0 {
			oldest = min(oldest, t.loops[i].cursor.Load())
		}
	}
	return oldest
}

// Limits on the WebSocket stream-name variants of one timeline: a raw tag is
// echoed in the name (WS-7), so a client could otherwise make the producer
// encode every event once per spelling. Past them the loop encodes for that
// subscriber alone (Entry.WS has no slot for it).
const (
	maxWSVariants    = 16
	maxWSVariantName = 256
)
