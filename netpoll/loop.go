package netpoll

import (
	"context"
	"crypto/rand"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/sluice/sluice/proto"
	"github.com/sluice/sluice/timeline"
)

// drainBudget bounds the deliveries (entries × recipients) of one drain task
// before the loop goes back to socket I/O (STYLE 11: fairness is explicit);
// at about 35 ns each that is a few milliseconds.
const drainBudget = 1 << 16

// maxScratch is the capacity above which a loop drops a scratch buffer
// instead of keeping it for reuse.
const maxScratch = 64 << 10

// loop is one gnet event loop's state. All fields are owned by the loop
// goroutine except those marked otherwise.
type loop struct {
	s      *Server
	el     gnet.EventLoop
	reader *timeline.Reader

	conns   []*conn                                // every open connection, for sweeps
	subs    map[*timeline.Timeline][]*subscription // listeners per timeline on this loop
	touched []*conn                                // connections with queued output
	scratch []byte
	victims []*conn
	now     time.Time       // of the current drain, for filter expiry
	held    []*subscription // subscriptions with held entries
	// drainTotal is len(conns) when the drain began; -1 before.
	drainTotal int
	req        proto.Request
	m          proto.Meta
	rng        *mrand.ChaCha8

	drainTask, sweepTask, mailTask gnet.Runnable
	drainScheduled                 atomic.Bool // any goroutine
	sweepScheduled                 atomic.Bool // any goroutine
	mailScheduled                  atomic.Bool // any goroutine

	stats loopStats
	lat   []latency // entries delivered by the current drain, for Stats.Latency

	mailMu   sync.Mutex
	mail     []func() // under mailMu
	mailWork []func()
}

func newLoop(s *Server, el gnet.EventLoop) *loop {
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	l := &loop{
		s:    s,
		el:   el,
		subs: make(map[*timeline.Timeline][]*subscription),
		rng:  mrand.NewChaCha8(seed),

		drainTotal: -1,
	}
	l.drainTask = gnet.RunnableFunc(l.runDrain)
	l.sweepTask = gnet.RunnableFunc(l.runSweep)
	l.mailTask = gnet.RunnableFunc(l.runMail)
	l.reader = s.hub.NewReader(l.scheduleDrain, l)
	return l
}

// scheduleDrain posts the drain task; the Reader calls it at most once per
// drain, from the Redis goroutine.
func (l *loop) scheduleDrain() {
	_ = l.el.Execute(context.Background(), l.drainTask)
}

// latency is one entry delivered by a drain: when Redis handed it over and
// which connection types received it (bit kindWS, bit kindSSE).
type latency struct {
	received time.Time
	kinds    uint8
}

func (l *loop) runDrain(context.Context) error {
	l.now = time.Now()
	l.reader.Drain(drainBudget)
	l.flush()
	if len(l.lat) > 0 {
		now := time.Now()
		for i, x := range l.lat {
			for k, h := range l.s.Stats.Latency {
				if x.kinds&(1<<k) != 0 {
					h.ObserveDuration(now.Sub(x.received))
				}
			}
			l.lat[i] = latency{}
		}
		l.lat = l.lat[:0]
	}
	return nil
}

// scheduleSweep posts one sweep unless one is already pending. Any goroutine.
func (l *loop) scheduleSweep() {
	if l.sweepScheduled.CompareAndSwap(false, true) {
		_ = l.el.Execute(context.Background(), l.sweepTask)
	}
}

// post runs fn on the loop. Any goroutine. Posts are coalesced into one task
// per wake-up, so a burst of finished lookups costs the loop one task.
func (l *loop) post(fn func()) {
	l.mailMu.Lock()
	l.mail = append(l.mail, fn)
	l.mailMu.Unlock()
	if l.mailScheduled.CompareAndSwap(false, true) {
		_ = l.el.Execute(context.Background(), l.mailTask)
	}
}

func (l *loop) runMail(context.Context) error {
	l.mailScheduled.Store(false)
	l.mailMu.Lock()
	l.mailWork, l.mail = l.mail, l.mailWork[:0]
	l.mailMu.Unlock()
	for _, fn := range l.mailWork {
		fn()
	}
	clear(l.mailWork)
	l.flush()
	return nil
}

// open registers a new connection.
func (l *loop) open(gc gnet.Conn) *conn {
	c := &conn{gc: gc, l: l, slot: len(l.conns)}
	c.resetForRequest(time.Now(), l.s.opts.HeaderTimeout)
	l.conns = append(l.conns, c)
	l.s.Stats.Connections.Add(1)
	return c
}

// closed forgets a connection gnet has closed; it may run in the middle of a
// write (gnet closes synchronously on write errors).
func (l *loop) closed(c *conn, _ error) {
	if c.state == stateClosed || c.slot >= len(l.conns) || l.conns[c.slot] != c {
		return
	}
	l.releaseStreams(c)
	c.releaseIP()
	switch {
	case c.state == stateStreaming:
		l.s.Stats.EventSource.Add(-1)
	case c.state == stateWebSocket && !c.ws.closing:
		l.s.Stats.WebSocket.Add(-1)
	}
	c.state = stateClosed
	last := l.conns[len(l.conns)-1]
	l.conns[c.slot] = last
	last.slot = c.slot
	l.conns[len(l.conns)-1] = nil
	l.conns = l.conns[:len(l.conns)-1]
	c.out = nil
	l.s.Stats.Connections.Add(-1)
}

// close ends a connection from the loop, after gnet's best-effort flush.
func (l *loop) close(c *conn, why reason) {
	if c.state == stateClosed {
		return
	}
	if why.Label == reasonSlowConsumer.Label || why.Label == reasonWriteStall.Label {
		l.s.Stats.SlowByKind[c.kind()].Add(1)
		l.s.log.Info("closing slow consumer", "reason", why.Label, "req.id", string(c.requestID()))
	}
	_ = l.el.Close(c.gc)
	l.closed(c, nil) // no-op if gnet already called OnClose
}

// Deliver implements timeline.Sink: queue entry e for every listener of t on
// this loop. Writes happen once per connection in flush.
func (l *loop) Deliver(t *timeline.Timeline, e *timeline.Entry) int {
	list := l.subs[t]
	if len(list) == 0 {
		return 1
	}
	if e.Kind == timeline.KindKill {
		l.kill(list)
		return len(list)
	}
	var kinds uint8
	for _, sub := range list {
		if l.offer(sub, e) {
			kinds |= 1 << sub.c.kind()
		}
	}
	if kinds != 0 && !e.Received.IsZero() {
		l.lat = append(l.lat, latency{e.Received, kinds})
	}
	return len(list)
}

// Lost implements timeline.Sink.
func (l *loop) Lost(t *timeline.Timeline, n uint64) {
	l.s.log.Warn("event loop fell behind a timeline; events skipped", "channel", t.Channel, "lost", n)
}

// kill ends every connection bound to a system channel (SYS-2).
func (l *loop) kill(list []*subscription) {
	l.victims = l.victims[:0]
	for _, sub := range list {
		l.victims = append(l.victims, sub.c)
	}
	for _, c := range l.victims {
		l.s.Stats.Kills.Add(1)
		if c.state == stateAuthenticating {
			c.killed = true // finishGate ends the response once it starts
			continue
		}
		if c.ws != nil {
			l.wsKill(c)
		} else {
			l.endStream(c, reasonKill)
		}
	}
	clear(l.victims)
}

// flush writes each touched connection's queued frames with one writev,
// enforcing the backlog cap first (§17.2).
func (l *loop) flush() {
	var sentSSE, sentWS uint64 // one atomic add per flush, not per connection
	for i, c := range l.touched {
		l.touched[i] = nil
		if c.state == stateClosed || len(c.out) == 0 {
			continue
		}
		if c.gc.OutboundBuffered()+c.outBytes > l.s.opts.MaxBacklogBytes {
			l.slowConsumer(c, reasonSlowConsumer)
			continue
		}
		sent := c.sent
		c.stallQueued += c.outBytes
		_, _ = c.gc.Writev(c.out)
		clear(c.out)
		c.out, c.outBytes, c.sent = c.out[:0], 0, 0
		if cap(c.out) > 64 {
			c.out = nil
		}
		if c.ws != nil {
			sentWS += uint64(sent)
		} else {
			sentSSE += uint64(sent)
		}
		if c.closeAfterFlush && c.state != stateClosed {
			l.close(c, reasonClientClosed)
		}
	}
	l.touched = l.touched[:0]
	if sentSSE > 0 {
		l.s.Stats.SentSSE.Add(sentSSE)
	}
	if sentWS > 0 {
		l.s.Stats.SentWS.Add(sentWS)
	}
}

// runSweep handles timeouts and heartbeats for every connection of the loop.
func (l *loop) runSweep(context.Context) error {
	l.sweepScheduled.Store(false)
	now := time.Now()
	opts := &l.s.opts
	var outbound, worst int
	for i := 0; i < len(l.conns); i++ {
		c := l.conns[i]
		if n := c.gc.OutboundBuffered(); n > 0 {
			outbound += n
			worst = max(worst, n)
		}
		switch c.state {
		case stateReading:
			if now.After(c.deadline) {
				why := reasonIdle
				if c.gc.InboundBuffered() > 0 || c.partial {
					why = reasonHeaderTimeout
					c.writeNow(proto.AppendConnError(l.scratch[:0], why.Status))
				}
				l.close(c, why)
				i-- // close swapped another connection into slot i
			}
		case stateAuthenticating:
			// Lookups answer within lookupTimeout; a request still waiting
			// well past that (a stuck worker queue) is not kept for ever.
			if now.After(c.deadline.Add(2 * lookupTimeout)) {
				l.close(c, reasonHeaderTimeout)
				i--
			}
		case stateStreaming:
			if !now.Before(c.nextBeat) {
				c.queue(c.heartbeat())
				c.nextBeat = now.Add(opts.HeartbeatInterval - l.s.tick)
			}
			if l.stalled(c, now) {
				l.slowConsumer(c, reasonWriteStall)
				i--
			}
		case stateWebSocket:
			if l.wsSweep(c, now) {
				i--
			} else if l.stalled(c, now) {
				l.slowConsumer(c, reasonWriteStall)
				i--
			}
		}
	}
	l.stats.outbound.Store(int64(outbound))
	l.stats.maxBacklog.Store(int64(worst))
	l.now = now
	l.retryHeld()
	var held int
	for _, sub := range l.held {
		held += len(sub.held)
	}
	l.stats.held.Store(int64(held))
	if l.s.draining.Load() {
		l.drainSweep(now)
	}
	l.flush()
	return nil
}

// stalled reports whether c's backlog has made no progress for the write
// stall timeout. gnet only appends to a non-empty backlog, so the backlog
// moved exactly when it is smaller than last time plus what was queued since.
func (l *loop) stalled(c *conn, now time.Time) bool {
	buffered := c.gc.OutboundBuffered()
	if buffered == 0 || buffered < c.stallBuffered+c.stallQueued {
		c.stallSince = now
	}
	c.stallBuffered, c.stallQueued = buffered, 0
	return now.Sub(c.stallSince) > l.s.opts.WriteStallTimeout
}

// slowConsumer disconnects c without waiting for its backlog (§17.2, X-4).
func (l *loop) slowConsumer(c *conn, why reason) {
	clear(c.out)
	c.out, c.outBytes = c.out[:0], 0
	// A last word if the socket takes it; gnet tries once more before
	// closing: ":slow consumer" or close 1013.
	switch {
	case c.state == stateStreaming && !c.http10:
		c.writeNow(slowConsumerChunk)
	case c.state == stateWebSocket:
		c.writeNow(slowConsumerClose)
	}
	l.close(c, why)
}

// statusTryAgainLater is RFC 6455's 1013, which gobwas/ws does not name.
const statusTryAgainLater ws.StatusCode = 1013

var (
	slowConsumerChunk = proto.AppendChunk(nil, []byte(":slow consumer\n\n"))
	slowConsumerClose = proto.AppendCloseFrame(nil, statusTryAgainLater, "slow consumer")
)

// requestID fills c.reqID with a fresh UUIDv4 (LOG-1), or with the
// proxy's X-Request-Id when SLUICE_TRUST_REQUEST_ID is on and the peer is a
// trusted proxy (nginx's $request_id is 32 hex digits).
func (l *loop) requestID(c *conn, r *proto.Request) {
	if l.s.opts.TrustRequestID && validRequestID(r.XRequestID) &&
		isTrusted(peerAddr(c.gc.RemoteAddr()), l.s.opts.TrustedProxies) {
		c.reqIDLen = uint8(copy(c.reqID[:], r.XRequestID))
		return
	}
	var rnd [16]byte
	_, _ = l.rng.Read(rnd[:])
	proto.AppendUUID(c.reqID[:0], rnd)
	c.reqIDLen = uint8(len(c.reqID))
}

// validRequestID accepts 1 to 36 characters of [A-Za-z0-9._-]: enough for
// UUIDs and nginx's $request_id, nothing that needs escaping in a header or
// a log.
func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > 36 {
		return false
	}
	for _, b := range id {
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '-', b == '.', b == '_':
		default:
			return false
		}
	}
	return true
}

// meta fills the loop's response metadata for c's current request.
func (l *loop) meta(c *conn) *proto.Meta {
	l.m = proto.Meta{
		RequestID: c.requestID(),
		Date:      *l.s.date.Load(),
		KeepAlive: c.keepAlive,
		HTTP10:    c.http10,
		HeadOnly:  c.headOnly,
	}
	return &l.m
}

// buf returns the loop's scratch buffer, emptied, dropping it past the cap.
func (l *loop) buf() []byte {
	if cap(l.scratch) > maxScratch {
		l.scratch = nil
	}
	return l.scratch[:0]
}
