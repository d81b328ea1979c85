// Package netpoll owns every client socket: gnet event loops, one state
// machine per connection, write queues and limits. It never parses bytes
// itself (proto does) and never blocks: PostgreSQL lookups run on
// auth.Runner workers and come back through the loop's mailbox.
//
// Goroutines: everything in loop.go, conn.go, http.go, gate.go and sse.go
// runs on the connection's event loop unless a comment says otherwise.
// Locks, in order: timeline.Hub.mu, timeline.Reader.mu, loop.mailMu; none
// is held while calling out.
package netpoll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"

	"github.com/sluice/sluice/auth"
	"github.com/sluice/sluice/metrics"
	"github.com/sluice/sluice/timeline"
)

// Options configure a Server. Durations must be positive.
type Options struct {
	// Network is "tcp" or "unix"; Addr is host:port or a socket path.
	Network, Addr string
	// Loops is the number of event loops (one per core by default).
	Loops int
	// ReusePort gives every loop its own SO_REUSEPORT listener, so accepts
	// spread over the loops without a shared acceptor. Off, one listener
	// feeds the loops; a port already in use then fails the start instead
	// of being shared with another process (tests).
	ReusePort bool
	// HeaderTimeout bounds how long a request head may take (HTTP-9).
	HeaderTimeout time.Duration
	// KeepAliveTimeout closes idle keep-alive connections (HTTP-7: 5 s).
	KeepAliveTimeout time.Duration
	// HeartbeatInterval is the SSE :thump period (SSE-7: 15 s).
	HeartbeatInterval time.Duration
	// WSPingInterval is the WebSocket ping period (WS-17: 30 s).
	WSPingInterval time.Duration
	// MaxBacklogBytes caps the bytes queued for one connection (§17.2).
	MaxBacklogBytes int
	// WriteStallTimeout disconnects a connection whose backlog has not
	// shrunk for this long (§17.2).
	WriteStallTimeout time.Duration
	// WSMaxMessage caps a client WebSocket message (WS-16).
	WSMaxMessage int
	// WSMaxSubscriptions caps the streams of one WebSocket; 0 is
	// unlimited, as in the reference.
	WSMaxSubscriptions int
	// RailsPermissions applies Rails' role rules for view_feeds (AUTH-13).
	RailsPermissions bool
	// DrainSeconds spreads connection closes at shutdown (§17.3).
	DrainSeconds time.Duration
	// Relations caches each account's blocks, mutes, domain blocks and
	// custom filters for per-recipient filtering (§8). Nil skips those
	// steps (benchmarks of the bare delivery path).
	Relations *auth.RelationCache
	// Observer supplies the database figures of /metrics and the status
	// endpoints; nil reports an empty pool and PostgreSQL as down.
	Observer Observer
	// StatusEndpoints serves §17.1's /api/v1/streaming/status paths;
	// StatusDetail lists concrete channels; StatusToken, when set,
	// is required as "Authorization: Bearer <token>".
	StatusEndpoints bool
	StatusDetail    bool
	StatusToken     string
	// TrustedProxies is TRUSTED_PROXY_IP (LOG-5): whose X-Forwarded-For
	// is believed when finding a client's address.
	TrustedProxies []netip.Prefix
	// MaxConnsPerIP caps the streams of one client address; 0 is
	// unlimited.
	MaxConnsPerIP int
	// TrustRequestID takes X-Request-Id from trusted proxies (LOG-1).
	TrustRequestID bool
	// Version is reported by the status endpoint.
	Version string
	Logger  *slog.Logger
}

// Directory is the data the server needs from PostgreSQL; auth.Store
// implements it. Methods are called on worker goroutines, never on a loop.
type Directory interface {
	LookupToken(ctx context.Context, token string) (*auth.Identity, error)
	ListOwned(ctx context.Context, rawListID string, accountID int64) (int64, bool, error)
	FeedAccess(ctx context.Context, kind auth.FeedKind) (local, remote bool, err error)
}

// Server is the streaming server: a gnet engine and its loops.
type Server struct {
	gnet.BuiltinEventEngine
	opts   Options
	hub    *timeline.Hub
	dir    Directory
	runner *auth.Runner
	log    *slog.Logger
	tick   time.Duration

	eng     gnet.Engine
	booted  chan struct{}
	loopsMu sync.Mutex
	loops   atomic.Pointer[[]*loop]
	date    atomic.Pointer[[]byte]

	ipLimit *ipLimiter // nil when unlimited

	draining   atomic.Bool
	drainStart atomic.Int64 // unix nanoseconds; set before draining
	started    time.Time

	Stats Stats
}

// Stats are the server's counters. Any goroutine.
type Stats struct {
	EventSource atomic.Int64 // open SSE streams
	WebSocket   atomic.Int64 // open WebSockets
	Connections atomic.Int64 // open TCP connections
	SentSSE     atomic.Uint64
	SentWS      atomic.Uint64
	Kills       atomic.Uint64
	// SlowByKind counts slow-consumer disconnects (§17.2) by connection
	// type (kindWS, kindSSE).
	SlowByKind [2]atomic.Uint64
	// Channels counts live stream subscriptions by connection type and
	// stream, the connected_channels gauge of MET-2 (system channels aside).
	Channels [2][timeline.NumStreams]atomic.Int64
	// Latency is the Redis-to-socket delivery time by connection type.
	Latency [2]*metrics.Histogram
}

// SlowConsumers is the number of slow-consumer disconnects of both types.
func (st *Stats) SlowConsumers() uint64 {
	return st.SlowByKind[kindWS].Load() + st.SlowByKind[kindSSE].Load()
}

// New returns a server; Serve starts it.
func New(opts Options, hub *timeline.Hub, dir Directory, runner *auth.Runner) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, hub: hub, dir: dir, runner: runner, log: opts.Logger, booted: make(chan struct{}), started: time.Now()}
	s.ipLimit = newIPLimiter(opts.MaxConnsPerIP)
	for k := range s.Stats.Latency {
		s.Stats.Latency[k] = metrics.NewHistogram(metrics.LatencyBuckets)
	}
	// The tick drives timeouts and heartbeats; a fifth of the shortest
	// period keeps each at most 20% late, and never tick faster than 10 ms.
	s.tick = min(time.Second, opts.HeartbeatInterval/5, opts.WSPingInterval/5, opts.HeaderTimeout/5, opts.KeepAliveTimeout/5)
	s.tick = max(s.tick, 10*time.Millisecond)
	s.updateDate(time.Now())
	return s
}

// Serve runs the engine until Stop; it returns once the listener is closed.
func (s *Server) Serve() error {
	proto := s.opts.Network + "://" + s.opts.Addr
	if s.opts.Network == "unix" {
		if err := removeStaleSocket(s.opts.Addr); err != nil {
			return err
		}
	}
	opts := []gnet.Option{
		gnet.WithNumEventLoop(s.opts.Loops),
		gnet.WithReusePort(s.opts.ReusePort && s.opts.Network == "tcp"),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithTicker(true),
		gnet.WithLogLevel(logging.DebugLevel), // gnetLogger applies the server's level
		gnet.WithLogger(gnetLogger{s.log}),
		gnet.WithReadBufferCap(16 << 10),
	}
	return gnet.Run(s, proto, opts...)
}

// WaitReady blocks until the engine accepts connections or ctx ends.
func (s *Server) WaitReady(ctx context.Context) error {
	select {
	case <-s.booted:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop stops the engine, closing every connection.
func (s *Server) Stop(ctx context.Context) error {
	<-s.booted
	return s.eng.Stop(ctx)
}

// OnBoot records the engine and, for a Unix socket, opens its permissions
// to everyone like the reference (SOCKET).
func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	if s.opts.Network == "unix" {
		if err := os.Chmod(s.opts.Addr, 0o666); err != nil {
			s.log.Warn("cannot chmod unix socket", "path", s.opts.Addr, "error", err)
		}
	}
	close(s.booted)
	return gnet.None
}

// OnOpen attaches the connection's state machine.
func (s *Server) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	if s.draining.Load() {
		return nil, gnet.Close // no new connections while draining
	}
	l := s.loopOf(gc.EventLoop())
	c := l.open(gc)
	gc.SetContext(c)
	return nil, gnet.None
}

// OnClose releases everything the connection held.
func (s *Server) OnClose(gc gnet.Conn, err error) gnet.Action {
	if c, ok := gc.Context().(*conn); ok {
		c.l.closed(c, err)
	}
	return gnet.None
}

// OnTraffic runs the connection's state machine over the bytes received.
func (s *Server) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*conn)
	if !ok {
		return gnet.Close
	}
	return c.l.traffic(c)
}

// OnTick runs on gnet's ticker goroutine: it refreshes the Date header and
// posts one sweep task per loop.
func (s *Server) OnTick() (time.Duration, gnet.Action) {
	s.updateDate(time.Now())
	if ls := s.loops.Load(); ls != nil {
		for _, l := range *ls {
			l.scheduleSweep()
		}
	}
	return s.tick, gnet.None
}

// loopOf returns the state of event loop el, creating it on first sight.
// Any goroutine (called from OnOpen).
func (s *Server) loopOf(el gnet.EventLoop) *loop {
	if ls := s.loops.Load(); ls != nil {
		for _, l := range *ls {
			if l.el == el {
				return l
			}
		}
	}
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	var cur []*loop
	if ls := s.loops.Load(); ls != nil {
		cur = *ls
		for _, l := range cur {
			if l.el == el {
				return l
			}
		}
	}
	l := newLoop(s, el)
	next := append(append([]*loop(nil), cur...), l)
	s.loops.Store(&next)
	return l
}

func (s *Server) updateDate(now time.Time) {
	b := now.UTC().AppendFormat(make([]byte, 0, 29), "Mon, 02 Jan 2006 15:04:05 GMT")
	s.date.Store(&b)
}

// removeStaleSocket deletes a Unix socket file nobody accepts on (CFG-7).
func removeStaleSocket(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("netpoll: SOCKET %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("netpoll: SOCKET %s exists and is not a socket; remove it or choose another path", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("netpoll: SOCKET %s: another process is listening on it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) && !strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("netpoll: SOCKET %s: %w", path, err)
	}
	return os.Remove(path)
}
