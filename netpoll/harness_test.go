package netpoll_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sluice/sluice/auth"
	"github.com/sluice/sluice/internal/testenv"
	"github.com/sluice/sluice/netpoll"
	"github.com/sluice/sluice/timeline"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// server is one Sluice started in-process against private Redis and
// PostgreSQL, on a free port, stopped in t.Cleanup.
type server struct {
	t     *testing.T
	Addr  string
	NS    string // REDIS_NAMESPACE of this server
	Hub   *timeline.Hub
	Srv   *netpoll.Server
	Redis rueidis.Client // for publishing and inspecting keys
	PG    *testenv.Postgres
	RS    *testenv.Redis
}

type serverConfig struct {
	opts    netpoll.Options
	hub     timeline.Options
	redis   *testenv.Redis    // nil: the shared one
	pg      *testenv.Postgres // nil: the shared one
	storeTT time.Duration
}

var nsCounter atomic.Int64

// startServer starts Sluice with test-friendly defaults; mods adjust them.
// Each server gets its own REDIS_NAMESPACE unless a mod sets one, so tests
// sharing the Redis never see each other's channels or keys.
func startServer(t *testing.T, mods ...func(*serverConfig)) *server {
	t.Helper()
	cfg := serverConfig{
		opts: netpoll.Options{
			Network:           "tcp",
			Loops:             2,
			HeaderTimeout:     15 * time.Second,
			KeepAliveTimeout:  5 * time.Second,
			HeartbeatInterval: 15 * time.Second,
			WSPingInterval:    30 * time.Second,
			MaxBacklogBytes:   4 << 20,
			WriteStallTimeout: 60 * time.Second,
			WSMaxMessage:      1 << 20,
			StatusEndpoints:   true, // the default (§17.1)
			Version:           "test",
			TrustedProxies:    []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		},
		hub: timeline.Options{
			Namespace:  fmt.Sprintf("t%d", nsCounter.Add(1)),
			RingSize:   1024,
			Linger:     100 * time.Millisecond,
			KeyRefresh: 300 * time.Second,
		},
		storeTT: 30 * time.Second,
	}
	for _, m := range mods {
		m(&cfg)
	}
	if cfg.redis == nil {
		cfg.redis = testenv.SharedRedis(t)
	}
	if cfg.pg == nil {
		cfg.pg = testenv.SharedPostgres(t)
	}
	cfg.hub.Loops = cfg.opts.Loops
	pool := cfg.pg.Pool(t)
	store := auth.NewStore(pool, auth.RelationsTTL(cfg.storeTT))
	runner := auth.NewRunner(8, 1024)
	var srvp atomic.Pointer[netpoll.Server]
	rel := auth.NewRelationCache(pool, auth.RelationsConfig{
		TTL:    cfg.storeTT,
		Submit: runner.Submit,
		Notify: func(a int64) {
			if s := srvp.Load(); s != nil {
				s.NotifyRelations(a)
			}
		},
	})
	cfg.hub.OnFiltersChanged = rel.InvalidateFilters
	cfg.opts.Relations = rel
	if cfg.opts.Observer == nil {
		cfg.opts.Observer = auth.NewObserver(pool, store, rel)
	}
	hub := timeline.NewHub(cfg.hub)

	ctx, cancel := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		hub.Run(ctx, rueidis.ClientOption{InitAddress: []string{cfg.redis.Addr}, DisableCache: true})
	}()
	// Without SO_REUSEPORT a port that another test process took between
	// FreePort and the bind fails loudly; try another one.
	var srv *netpoll.Server
	serveErr := make(chan error, 1)
	for attempt := 1; ; attempt++ {
		cfg.opts.Addr = "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
		srv = netpoll.New(cfg.opts, hub, store, runner)
		srvp.Store(srv)
		go func() { serveErr <- srv.Serve() }()
		readyCtx, readyCancel := context.WithTimeout(ctx, 10*time.Second)
		var err error
		select {
		case err = <-serveErr:
		case <-waitCh(func() error { return srv.WaitReady(readyCtx) }):
		}
		readyCancel()
		if err == nil {
			break
		}
		if attempt == 3 {
			cancel()
			t.Fatalf("serve: %v", err)
		}
	}
	t.Cleanup(func() {
		stopCtx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		// gnet's Stop polls for the end every 500 ms; Serve returns as soon
		// as the engine is down, which keeps the package fast.
		go func() { _ = srv.Stop(stopCtx) }()
		select {
		case <-serveErr:
		case <-stopCtx.Done():
			t.Errorf("server did not stop within 5 s")
		}
		cancel()
		<-hubDone
		rel.Close()
		runner.Close()
	})
	s := &server{t: t, Addr: cfg.opts.Addr, NS: cfg.hub.Namespace, Hub: hub, Srv: srv,
		Redis: cfg.redis.Client(t), PG: cfg.pg, RS: cfg.redis}
	waitFor(t, 10*time.Second, "hub connected to Redis", func() bool { return hub.Stats.RedisConnected.Load() })
	return s
}

func waitCh(f func() error) <-chan struct{} {
	ch := make(chan struct{})
	go func() { _ = f(); close(ch) }()
	return ch
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ns prefixes a channel or key with the server's namespace (STR-3).
func (s *server) ns(name string) string {
	if s.NS == "" {
		return name
	}
	return s.NS + ":" + name
}

// waitSubscribed blocks until Sluice has SUBSCRIBEd channel in Redis, so a
// PUBLISH that follows reaches it.
func (s *server) waitSubscribed(channel string) {
	s.t.Helper()
	waitFor(s.t, 5*time.Second, "SUBSCRIBE "+channel, func() bool {
		v, err := s.Redis.Do(context.Background(), s.Redis.B().PubsubNumsub().Channel(s.ns(channel)).Build()).AsIntMap()
		return err == nil && v[s.ns(channel)] > 0
	})
}

// waitUnsubscribed blocks until no Sluice holds channel in Redis. A test that
// reopens a stream on a channel it just left waits for this first: otherwise
// waitSubscribed may see the old subscription an instant before its lingering
// UNSUBSCRIBE, and a PUBLISH in the gap before the re-SUBSCRIBE reaches nobody.
func (s *server) waitUnsubscribed(channel string) {
	s.t.Helper()
	waitFor(s.t, 5*time.Second, "UNSUBSCRIBE "+channel, func() bool {
		v, err := s.Redis.Do(context.Background(), s.Redis.B().PubsubNumsub().Channel(s.ns(channel)).Build()).AsIntMap()
		return err == nil && v[s.ns(channel)] == 0
	})
}

// publish sends msg on channel (namespaced) and returns the receiver count.
func (s *server) publish(channel, msg string) int64 {
	s.t.Helper()
	n, err := s.Redis.Do(context.Background(), s.Redis.B().Publish().Channel(s.ns(channel)).Message(msg).Build()).AsInt64()
	if err != nil {
		s.t.Fatalf("publish: %v", err)
	}
	return n
}

// client is a raw TCP client speaking bytes (STYLE 17).
type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, r: bufio.NewReader(c)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// get sends a GET for target with extra header lines ("Name: value").
func (c *client) get(target string, headers ...string) {
	c.t.Helper()
	c.send(request("GET", target, headers...))
}

func request(method, target string, headers ...string) string {
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// head reads a response head and returns it with the volatile values
// (request id, date) replaced by <uuid> and <date> after checking their form.
func (c *client) head() string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading head: %v (so far %q)", err, b.String())
		}
		b.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	return normalize(c.t, b.String())
}

var (
	reqIDRe = regexp.MustCompile(`X-Request-Id: ([^\r]*)\r\n`)
	uuidRe  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	dateRe  = regexp.MustCompile(`Date: ([^\r]*)\r\n`)
)

func normalize(t *testing.T, s string) string {
	t.Helper()
	if m := reqIDRe.FindStringSubmatch(s); m != nil {
		if !uuidRe.MatchString(m[1]) {
			t.Errorf("X-Request-Id %q is not a UUIDv4 (LOG-1)", m[1])
		}
		s = strings.Replace(s, m[0], "X-Request-Id: <uuid>\r\n", 1)
	}
	if m := dateRe.FindStringSubmatch(s); m != nil {
		if _, err := time.Parse(time.RFC1123, m[1]); err != nil || !strings.HasSuffix(m[1], " GMT") {
			t.Errorf("Date %q is not an IMF-fixdate", m[1])
		}
		s = strings.Replace(s, m[0], "Date: <date>\r\n", 1)
	}
	return s
}

// chunk reads one chunk of a chunked body; "" is the terminating chunk.
func (c *client) chunk(timeout time.Duration) (string, error) {
	c.c.SetReadDeadline(time.Now().Add(timeout))
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(line, "\r\n"), 16, 64)
	if err != nil || !strings.HasSuffix(line, "\r\n") {
		return "", fmt.Errorf("bad chunk size line %q", line)
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(c.r, buf); err != nil {
		return "", err
	}
	if string(buf[n:]) != "\r\n" {
		return "", fmt.Errorf("chunk not followed by CRLF: %q", buf)
	}
	if n == 0 {
		return "", nil
	}
	return string(buf[:n]), nil
}

// body reads chunks until the decoded body holds want bytes (or fails).
func (c *client) body(want int, timeout time.Duration) string {
	c.t.Helper()
	var b strings.Builder
	deadline := time.Now().Add(timeout)
	for b.Len() < want {
		s, err := c.chunk(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("reading body: %v (got %q)", err, b.String())
		}
		if s == "" {
			c.t.Fatalf("body ended after %q", b.String())
		}
		b.WriteString(s)
	}
	return b.String()
}

// expectBody reads exactly len(want) decoded bytes and compares them.
func (c *client) expectBody(want string) {
	c.t.Helper()
	if got := c.body(len(want), 5*time.Second); got != want {
		c.t.Fatalf("body:\n got %q\nwant %q", got, want)
	}
}

// quiet asserts that nothing arrives for d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(d))
	if b, err := c.r.ReadByte(); err == nil {
		rest, _ := c.r.Peek(c.r.Buffered())
		c.t.Fatalf("unexpected bytes: %q", append([]byte{b}, rest...))
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		c.t.Fatalf("connection failed instead of staying quiet: %v", err)
	}
}

// closedByServer asserts the server closes the connection within d.
func (c *client) closedByServer(d time.Duration) string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(d))
	rest, err := io.ReadAll(c.r)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.t.Fatalf("server did not close the connection within %v (read %q)", d, rest)
	}
	return string(rest)
}

// openStream performs an SSE request and checks the head and greeting.
func (s *server) openStream(target string, headers ...string) *client {
	s.t.Helper()
	c := dial(s.t, s.Addr)
	c.get(target, headers...)
	if h := c.head(); h != sseHead {
		s.t.Fatalf("SSE head:\n got %q\nwant %q", h, sseHead)
	}
	c.expectBody(":)\n")
	return c
}

// SSE-1: the head of a successful stream, byte for byte.
const sseHead = "HTTP/1.1 200 OK\r\n" +
	"X-Powered-By: Express\r\n" +
	"X-Request-Id: <uuid>\r\n" +
	"Access-Control-Allow-Origin: *\r\n" +
	"Content-Type: text/event-stream\r\n" +
	"Cache-Control: private, no-store\r\n" +
	"Transfer-Encoding: chunked\r\n" +
	"Date: <date>\r\n" +
	"Connection: keep-alive\r\n" +
	"Keep-Alive: timeout=5\r\n" +
	"\r\n"

// errorResponse is HTTP-4's head and body for a gate error.
func errorResponse(status int, message string) string {
	body := `{"error":"` + message + `"}`
	return fmt.Sprintf("HTTP/1.1 %d %s\r\n", status, map[int]string{400: "Bad Request", 401: "Unauthorized", 429: "Too Many Requests", 500: "Internal Server Error"}[status]) +
		"X-Powered-By: Express\r\n" +
		"X-Request-Id: <uuid>\r\n" +
		"Access-Control-Allow-Origin: *\r\n" +
		"Content-Type: application/json\r\n" +
		"Date: <date>\r\n" +
		"Connection: keep-alive\r\n" +
		"Keep-Alive: timeout=5\r\n" +
		"Transfer-Encoding: chunked\r\n" +
		"\r\n" +
		fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
}

// response reads a whole chunked or Content-Length response, normalized.
func (c *client) response() string {
	c.t.Helper()
	h := c.head()
	var b strings.Builder
	b.WriteString(h)
	switch {
	case strings.Contains(h, "Transfer-Encoding: chunked"):
		for {
			line, err := c.r.ReadString('\n')
			if err != nil {
				c.t.Fatalf("chunk: %v", err)
			}
			b.WriteString(line)
			n, _ := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(c.r, buf); err != nil {
				c.t.Fatalf("chunk data: %v", err)
			}
			b.Write(buf)
			if n == 0 {
				return b.String()
			}
		}
	default:
		m := regexp.MustCompile(`Content-Length: (\d+)`).FindStringSubmatch(h)
		if m != nil {
			n, _ := strconv.Atoi(m[1])
			buf := make([]byte, n)
			if _, err := io.ReadFull(c.r, buf); err != nil {
				c.t.Fatalf("body: %v", err)
			}
			b.Write(buf)
		}
		return b.String()
	}
}

// ---- helpers for the e2e_*_test.go files ----

// with returns a copy of s whose helpers fail t instead of the test that
// started the server, for use inside subtests.
func (s *server) with(t *testing.T) *server {
	c := *s
	c.t = t
	return &c
}

// roundTrip sends req on a new connection and returns the whole response,
// normalized.
func (s *server) roundTrip(req string) string {
	s.t.Helper()
	c := dial(s.t, s.Addr)
	c.send(req)
	return c.response()
}

// healthResponse is HTTP-11's answer on a keep-alive connection.
const healthResponse = "HTTP/1.1 200 OK\r\nX-Powered-By: Express\r\nX-Request-Id: <uuid>\r\nAccess-Control-Allow-Origin: *\r\n" +
	"Content-Type: text/plain\r\nCache-Control: private, no-store\r\nDate: <date>\r\nConnection: keep-alive\r\n" +
	"Keep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n"

// sseEvent is one event as SSE-3 frames it (chunk framing removed).
func sseEvent(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }

// expectResponse reads one whole response and compares it with want.
func (c *client) expectResponse(want string) {
	c.t.Helper()
	if got := c.response(); got != want {
		c.t.Fatalf("response:\n got %q\nwant %q", got, want)
	}
}

// expectEnd asserts that the next thing on a chunked stream is the
// terminating chunk 0\r\n\r\n, within d (SSE-8).
func (c *client) expectEnd(d time.Duration) {
	c.t.Helper()
	s, err := c.chunk(d)
	if err != nil {
		c.t.Fatalf("waiting for the terminating chunk: %v", err)
	}
	if s != "" {
		c.t.Fatalf("expected the terminating chunk, got a chunk %q", s)
	}
}

// readRaw reads exactly n raw bytes (no chunk decoding) within d.
func (c *client) readRaw(n int, d time.Duration) string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, n)
	if _, err := io.ReadFull(c.r, buf); err != nil {
		c.t.Fatalf("reading %d raw bytes: %v (got %q)", n, err, buf)
	}
	return string(buf)
}

// publishAll publishes msgs on channel in one pipeline, in order.
func (s *server) publishAll(channel string, msgs ...string) {
	s.t.Helper()
	cmds := make(rueidis.Commands, 0, len(msgs))
	for _, m := range msgs {
		cmds = append(cmds, s.Redis.B().Publish().Channel(s.ns(channel)).Message(m).Build())
	}
	for _, r := range s.Redis.DoMulti(context.Background(), cmds...) {
		if err := r.Error(); err != nil {
			s.t.Fatalf("publish: %v", err)
		}
	}
}

// publishMixed publishes msgs[i] on chans[i] in one pipeline, in order.
func publishMixed(s *server, chans, msgs []string) {
	s.t.Helper()
	cmds := make(rueidis.Commands, 0, len(msgs))
	for i := range msgs {
		cmds = append(cmds, s.Redis.B().Publish().Channel(s.ns(chans[i])).Message(msgs[i]).Build())
	}
	for _, r := range s.Redis.DoMulti(context.Background(), cmds...) {
		if err := r.Error(); err != nil {
			s.t.Fatalf("publish: %v", err)
		}
	}
}

// rawKey returns the value and TTL (seconds; -2 when absent) of a Redis key
// given with its namespace, if any.
func (s *server) rawKey(key string) (val string, ttl int64) {
	s.t.Helper()
	ctx := context.Background()
	ttl, err := s.Redis.Do(ctx, s.Redis.B().Ttl().Key(key).Build()).AsInt64()
	if err != nil {
		s.t.Fatalf("TTL %s: %v", key, err)
	}
	val, err = s.Redis.Do(ctx, s.Redis.B().Get().Key(key).Build()).ToString()
	if err != nil && !rueidis.IsRedisNil(err) {
		s.t.Fatalf("GET %s: %v", key, err)
	}
	return val, ttl
}

// dialTinyRcvBuf connects with a receive buffer of about rcvbuf bytes, set
// before connect so the advertised window stays small (§17.2 tests).
func dialTinyRcvBuf(t *testing.T, addr string, rcvbuf int) *client {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
		}); err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, r: bufio.NewReaderSize(c, 512)}
}

// logBuffer collects a server's log lines (Options.Logger) so tests can
// assert the reason a connection ended (STYLE 9). Any goroutine.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newTestLogger logs everything as text lines ("reason=slow_consumer") to w.
func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func itoa(i int) string { return strconv.Itoa(i) }

// isEOF reports whether err means the peer closed the connection.
func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}
