package netpoll

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sluice/sluice/metrics"
	"github.com/sluice/sluice/proto"
	"github.com/sluice/sluice/timeline"
)

// Observer supplies what the server does not own to /metrics (§13, X-11)
// and the status endpoints (§17.1): the PostgreSQL pool and caches.
// auth.Observer implements it. Methods run on runner workers, never on a
// loop, and may block briefly.
type Observer interface {
	// WriteMetrics appends the pg_pool_* families (MET-2) and any sluice_*
	// families of its own.
	WriteMetrics(w *metrics.Writer)
	// PostgresConnected reports whether the database answers.
	PostgresConnected(ctx context.Context) bool
}

// Connection types: the `type` label of §13, indexing per-type counters.
const (
	kindWS  = 0
	kindSSE = 1
)

// kindNames are in the reference's order: websocket, then eventsource.
var kindNames = [2]string{"websocket", "eventsource"}

func (c *conn) kind() int {
	if c.ws != nil {
		return kindWS
	}
	return kindSSE
}

// Per-recipient drop reasons, the label values of
// sluice_events_dropped_total.
const (
	dropFeedAccess = iota
	dropLanguage
	dropBlock
	dropMute
	dropDomainBlock
	dropMalformed
	// dropUnavailable: the account's data could not be loaded (LIFE-2), or
	// too many events waited for it (maxHeld).
	dropUnavailable
	numDropReasons
)

var dropNames = [numDropReasons]string{"feed_access", "language", "block", "mute", "domain_block", "malformed", "unavailable"}

// loopStats are one loop's counters, written by the loop with uncontended
// atomics and summed by the metrics renderer.
type loopStats struct {
	_       [64]byte // off the cache lines of fields other goroutines write
	dropped [numDropReasons]atomic.Uint64
	// Sampled at each sweep.
	held       atomic.Int64 // entries waiting for account data
	outbound   atomic.Int64 // bytes queued in gnet for this loop's connections
	maxBacklog atomic.Int64 // the largest single connection's queue
	_          [64]byte
}

// Paths served before the stream gate (§3.1 rows 5 and 5a).
var (
	pathMetrics     = []byte("/metrics")
	pathStatus      = []byte("/api/v1/streaming/status")
	pathPerTimeline = []byte("/api/v1/streaming/status/per_timeline")
	pathQueue       = []byte("/api/v1/streaming/status/queue")
)

// report is what an observed request renders.
type report uint8

const (
	reportMetrics report = iota
	reportStatus
	reportPerTimeline
	reportQueue
)

// statusReport maps a status path to its report; ok is false for others.
func statusReport(path []byte) (report, bool) {
	switch {
	case bytes.Equal(path, pathStatus):
		return reportStatus, true
	case bytes.Equal(path, pathPerTimeline):
		return reportPerTimeline, true
	case bytes.Equal(path, pathQueue):
		return reportQueue, true
	}
	return 0, false
}

func isStatus(path []byte) bool {
	_, ok := statusReport(path)
	return ok
}

// statusAuthorized applies SLUICE_STATUS_TOKEN (§17.1): when set, the
// request must carry "Authorization: Bearer <token>".
func (s *Server) statusAuthorized(authz []byte, has bool) bool {
	want := s.opts.StatusToken
	if want == "" {
		return true
	}
	tok, ok := bytes.CutPrefix(authz, []byte("Bearer "))
	return has && ok && subtle.ConstantTimeCompare(tok, []byte(want)) == 1
}

// observe answers /metrics or a status endpoint. Rendering reads /proc and
// may ping PostgreSQL, so it runs on a worker; the connection waits like a
// stream request during its lookups, then takes the next request.
func (l *loop) observe(c *conn, what report) {
	c.state = stateAuthenticating
	c.deadline = time.Now()
	gen := c.gen
	s := l.s
	if !s.runner.Submit(func() {
		var body []byte
		defer func() { // a panic while collecting is MET-1's collection failure
			if r := recover(); r != nil {
				s.log.Error("collecting metrics failed", "panic", fmt.Sprint(r))
				body = nil
			}
			l.post(func() { l.finishObserve(c, gen, what, body) })
		}()
		body = s.render(what)
	}) {
		s.log.Error("worker queue full; refusing metrics or status request")
		l.finishObserve(c, gen, what, nil)
	}
}

func (l *loop) finishObserve(c *conn, gen uint32, what report, body []byte) {
	if c.state != stateAuthenticating || c.gen != gen {
		return // the client went away meanwhile
	}
	c.state = stateReading
	switch {
	case what == reportMetrics:
		l.respond(c, proto.AppendMetrics(l.buf(), l.meta(c), body))
	case body == nil:
		l.respondError(c, reasonInternal)
	default:
		l.respond(c, proto.AppendJSON(l.buf(), l.meta(c), body))
	}
	l.resume(c)
}

// render builds a report's body; nil means collection failed. Worker
// goroutine.
func (s *Server) render(what report) []byte {
	switch what {
	case reportMetrics:
		w := &metrics.Writer{B: make([]byte, 0, 8<<10)}
		s.WriteMetrics(w)
		return w.B
	case reportStatus:
		return s.appendStatus(nil)
	case reportPerTimeline:
		return s.appendPerTimeline(nil)
	default:
		return s.appendQueue(nil)
	}
}

// WriteMetrics appends every family of §13 and X-11. Any goroutine except a
// loop (it reads /proc and calls the Observer).
func (s *Server) WriteMetrics(w *metrics.Writer) {
	// A failing /proc read (EMFILE, of all times) leaves out only the
	// process families it feeds, as prom-client skips a failing collector.
	if err := metrics.WriteProcess(w); err != nil {
		s.log.Warn("metrics: some process families left out", "error", err)
	}
	metrics.WriteGo(w)
	// The reference registers the pool gauges before its own families.
	if s.opts.Observer != nil {
		s.opts.Observer.WriteMetrics(w)
	} else {
		writeNoPool(w)
	}

	st := &s.Stats
	w.Family("connected_clients", "gauge", "The number of clients connected to the streaming server")
	clients := [2]int64{st.WebSocket.Load(), st.EventSource.Load()}
	for k, name := range kindNames {
		w.Int("connected_clients", clients[k], "type", name)
	}
	// MET-2: every connection listens to its two system channels.
	w.Family("connected_channels", "gauge", "The number of channels the streaming server is streaming to")
	for k, name := range kindNames {
		w.Int("connected_channels", 2*clients[k], "type", name, "channel", "system")
	}
	for _, stream := range timeline.Streams {
		for k, name := range kindNames {
			w.Int("connected_channels", st.Channels[k][stream].Load(), "type", name, "channel", stream.Name())
		}
	}
	hs := &s.hub.Stats
	w.Family("redis_subscriptions", "gauge", "The number of Redis channels the streaming server is subscribed to")
	w.Int("redis_subscriptions", hs.RedisChannels.Load())
	w.Family("redis_messages_received_total", "counter", "The total number of messages the streaming server has received from redis subscriptions")
	w.Uint("redis_messages_received_total", hs.MessagesReceived.Load())
	w.Family("messages_sent_total", "counter", "The total number of messages the streaming server sent to clients per connection type")
	w.Uint("messages_sent_total", st.SentWS.Load(), "type", kindNames[kindWS])
	w.Uint("messages_sent_total", st.SentSSE.Load(), "type", kindNames[kindSSE])
	s.writeSluiceMetrics(w)
}

// writeNoPool keeps MET-2's pg_pool_* families present without a database.
func writeNoPool(w *metrics.Writer) {
	w.Family("pg_pool_total_connections", "gauge", "The total number of clients existing within the pool")
	w.Int("pg_pool_total_connections", 0)
	w.Family("pg_pool_idle_connections", "gauge", "The number of clients which are not checked out but are currently idle in the pool")
	w.Int("pg_pool_idle_connections", 0)
	w.Family("pg_pool_waiting_queries", "gauge", "The number of queued requests waiting on a client when all clients are checked out")
	w.Int("pg_pool_waiting_queries", 0)
}

// writeSluiceMetrics appends the extension families of X-11.
func (s *Server) writeSluiceMetrics(w *metrics.Writer) {
	st, hs := &s.Stats, &s.hub.Stats
	w.Family("sluice_delivery_latency_seconds", "histogram", "Time from receiving an event from Redis to writing it to the clients' sockets, per event and event loop")
	for k, name := range kindNames {
		w.Histogram("sluice_delivery_latency_seconds", st.Latency[k], "type", name)
	}
	w.Family("sluice_events_dropped_total", "counter", "Events not delivered to a recipient, by the filtering rule or failure that dropped them")
	var dropped [numDropReasons]uint64
	for _, l := range s.loopList() {
		for r := range dropped {
			dropped[r] += l.stats.dropped[r].Load()
		}
	}
	for r, name := range dropNames {
		v := dropped[r]
		if r == dropMalformed {
			v += hs.Malformed.Load() // messages no recipient could be given
		}
		w.Uint("sluice_events_dropped_total", v, "reason", name)
	}
	w.Family("sluice_slow_consumer_disconnects_total", "counter", "Connections closed because their outbound backlog passed SLUICE_MAX_BACKLOG_BYTES or stalled for SLUICE_WRITE_STALL_TIMEOUT")
	for k, name := range kindNames {
		w.Uint("sluice_slow_consumer_disconnects_total", st.SlowByKind[k].Load(), "type", name)
	}
	w.Family("sluice_kills_total", "counter", "Streams ended by a kill event on a token's channel")
	w.Uint("sluice_kills_total", st.Kills.Load())
	w.Family("sluice_redis_connected", "gauge", "Whether the Redis subscriber connection is up")
	w.Int("sluice_redis_connected", b2i(hs.RedisConnected.Load()))
	w.Family("sluice_redis_reconnects_total", "counter", "Redis subscriber connections lost and re-established")
	w.Uint("sluice_redis_reconnects_total", hs.Reconnects.Load())
	w.Family("sluice_ring_lost_total", "counter", "Events an event loop skipped because it fell more than a ring behind")
	w.Uint("sluice_ring_lost_total", hs.Lost.Load())
	w.Family("sluice_tcp_connections", "gauge", "Open TCP connections, streaming or not")
	w.Int("sluice_tcp_connections", st.Connections.Load())
	w.Family("sluice_draining", "gauge", "Whether a graceful drain is in progress")
	w.Int("sluice_draining", b2i(s.draining.Load()))
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (s *Server) loopList() []*loop {
	if ls := s.loops.Load(); ls != nil {
		return *ls
	}
	return nil
}

// appendStatus renders X-1.
func (s *Server) appendStatus(b []byte) []byte {
	st, hs := &s.Stats, &s.hub.Stats
	var subs int64
	for k := range st.Channels {
		for i := range st.Channels[k] {
			subs += st.Channels[k][i].Load()
		}
	}
	pg := false
	if s.opts.Observer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		pg = s.opts.Observer.PostgresConnected(ctx)
		cancel()
	}
	b = append(b, `{"connections":`...)
	b = strconv.AppendInt(b, st.Connections.Load(), 10)
	b = append(b, `,"eventsource":`...)
	b = strconv.AppendInt(b, st.EventSource.Load(), 10)
	b = append(b, `,"websocket":`...)
	b = strconv.AppendInt(b, st.WebSocket.Load(), 10)
	b = append(b, `,"subscriptions":`...)
	b = strconv.AppendInt(b, subs, 10)
	b = append(b, `,"redis":{"connected":`...)
	b = strconv.AppendBool(b, hs.RedisConnected.Load())
	b = append(b, `,"channels":`...)
	b = strconv.AppendInt(b, hs.RedisChannels.Load(), 10)
	b = append(b, `},"postgres":{"connected":`...)
	b = strconv.AppendBool(b, pg)
	b = append(b, `},"draining":`...)
	b = strconv.AppendBool(b, s.draining.Load())
	b = append(b, `,"uptime_seconds":`...)
	b = strconv.AppendInt(b, int64(time.Since(s.started)/time.Second), 10)
	b = append(b, `,"version":`...)
	b = proto.AppendQuoted(b, s.opts.Version)
	return append(b, '}')
}

// appendPerTimeline renders X-2: stream name → live subscriptions, or with
// SLUICE_STATUS_DETAIL concrete channels (which expose account and list
// ids).
func (s *Server) appendPerTimeline(b []byte) []byte {
	b = append(b, '{')
	first := true
	if s.opts.StatusDetail {
		for _, ref := range s.hub.ChannelRefs(nil) {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = proto.AppendQuoted(b, ref.Channel)
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(ref.Refs), 10)
		}
		return append(b, '}')
	}
	for _, stream := range timeline.Streams {
		n := s.Stats.Channels[kindWS][stream].Load() + s.Stats.Channels[kindSSE][stream].Load()
		if !first {
			b = append(b, ',')
		}
		first = false
		b = proto.AppendQuoted(b, stream.Name())
		b = append(b, ':')
		b = strconv.AppendInt(b, n, 10)
	}
	return append(b, '}')
}

// appendQueue renders X-3 from the figures the loops sampled at their last
// sweep.
func (s *Server) appendQueue(b []byte) []byte {
	var held, outbound, worst int64
	for _, l := range s.loopList() {
		held += l.stats.held.Load()
		outbound += l.stats.outbound.Load()
		worst = max(worst, l.stats.maxBacklog.Load())
	}
	b = append(b, `{"redis_inbound":`...)
	b = strconv.AppendUint(b, s.hub.Inbound(), 10)
	b = append(b, `,"filter_pending":`...)
	b = strconv.AppendInt(b, held, 10)
	b = append(b, `,"outbound_bytes":`...)
	b = strconv.AppendInt(b, outbound, 10)
	b = append(b, `,"max_connection_backlog_bytes":`...)
	b = strconv.AppendInt(b, worst, 10)
	b = append(b, `,"slow_consumer_disconnects":`...)
	b = strconv.AppendUint(b, s.Stats.SlowConsumers(), 10)
	return append(b, '}')
}
