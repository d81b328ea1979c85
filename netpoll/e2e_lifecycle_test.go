package netpoll_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sluice/sluice/internal/testenv"
)

// End-to-end tests of how streams and connections end: kill (§12),
// heartbeats (§10.3), connection management (§3.4) and failures of Redis
// and PostgreSQL (§15).

// SSE-8, SYS-2: kill on timeline:access_token:<id> ends the stream with the
// terminating chunk within 1 s; the connection then serves another request.
func TestKillAccessToken_SSE8_SYS2(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.openStream("/api/v1/streaming/user?access_token=alice-read-token")
	other := s.openStream("/api/v1/streaming/user?access_token=alice-statuses-token") // token 2: unaffected
	s.waitSubscribed("timeline:access_token:1")
	s.waitSubscribed("timeline:access_token:2")
	s.waitSubscribed("timeline:" + alice)
	start := time.Now()
	s.publish("timeline:access_token:1", `{"event":"kill"}`)
	c.expectEnd(time.Second)
	if d := time.Since(start); d > time.Second {
		t.Errorf("kill took %v (SYS-2: within 1 s)", d)
	}
	// The connection is an idle keep-alive connection now (SSE-8).
	c.get("/api/v1/streaming/health")
	c.expectResponse(healthResponse)
	// Nothing of the old stream follows.
	s.publish("timeline:"+alice, `{"event":"delete","payload":"1"}`)
	other.expectBody(sseEvent("delete", "1"))
	c.quiet(100 * time.Millisecond)
	waitFor(t, time.Second, "EventSource back to 1", func() bool { return s.Srv.Stats.EventSource.Load() == 1 })
}

// SYS-2: kill on timeline:system:<a> ends every stream of that account, on
// every loop, and no other account's.
func TestKillSystem_SYS2(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *serverConfig) { c.opts.Loops = 4 })
	var alices []*client
	for _, target := range []string{
		"/api/v1/streaming/user?access_token=alice-read-token",
		"/api/v1/streaming/public?access_token=alice-statuses-token",
		"/api/v1/streaming/direct?access_token=alice-read-token",
		"/api/v1/streaming/list?list=1&access_token=alice-read-token",
	} {
		alices = append(alices, s.openStream(target))
	}
	bobUser := s.openStream("/api/v1/streaming/user?access_token=bob-read-token")
	bobPublic := s.openStream("/api/v1/streaming/public?access_token=bob-read-token")
	s.waitSubscribed("timeline:system:" + alice)
	s.waitSubscribed("timeline:system:" + bob)
	s.waitSubscribed("timeline:" + bob)
	s.waitSubscribed("timeline:public")
	s.publish("timeline:system:"+alice, `{"event":"kill","payload":null}`)
	for _, c := range alices {
		c.expectEnd(time.Second)
	}
	s.publish("timeline:"+bob, `{"event":"delete","payload":"2"}`)
	s.publish("timeline:public", `{"event":"delete","payload":"3"}`)
	bobUser.expectBody(sseEvent("delete", "2"))
	bobPublic.expectBody(sseEvent("delete", "3"))
	for _, c := range alices {
		c.quiet(20 * time.Millisecond)
	}
}

// SYS-4, SYS-5, SYS-1: anything but kill on a system channel is ignored and
// never forwarded.
func TestSystemChannelOtherEvents_SYS5(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.openStream("/api/v1/streaming/user?access_token=alice-read-token")
	s.waitSubscribed("timeline:system:" + alice)
	s.waitSubscribed("timeline:access_token:1")
	s.waitSubscribed("timeline:" + alice)
	for _, ch := range []string{"timeline:system:" + alice, "timeline:access_token:1"} {
		s.publishAll(ch,
			`{"event":"filters_changed"}`,
			`{"event":"update","payload":{"id":"1"}}`,
			`{"event":"announcement","payload":"x"}`,
			`{"event":"Kill"}`,
			`{"event":["kill"]}`,
			`not json`,
			`"kill"`,
			``,
		)
	}
	s.publish("timeline:"+alice, `{"event":"delete","payload":"sentinel"}`)
	c.expectBody(sseEvent("delete", "sentinel"))
	c.quiet(100 * time.Millisecond)
}

// SSE-7: ":thump\n\n" on every stream at the heartbeat interval, each in its
// own chunk, between events.
func TestHeartbeat_SSE7(t *testing.T) {
	t.Parallel()
	const interval = 200 * time.Millisecond
	s := startServer(t, func(c *serverConfig) { c.opts.HeartbeatInterval = interval })
	c := s.openStream("/api/v1/streaming/public?access_token=alice-read-token")
	opened := time.Now()
	for i := 0; i < 3; i++ {
		got, err := c.chunk(5 * interval) // generous: timers run late under -race and load
		if err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
		if got != ":thump\n\n" {
			t.Fatalf("heartbeat %d: got chunk %q, want \":thump\\n\\n\"", i, got)
		}
	}
	if d := time.Since(opened); d < 2*interval {
		t.Errorf("three heartbeats within %v: faster than the %v interval", d, interval)
	}
}

// HTTP-9: a request head not complete within the header timeout gets 408
// and a close; established streams are not affected.
func TestHeaderTimeout_HTTP9(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	s := startServer(t, func(c *serverConfig) { c.opts.HeaderTimeout = timeout })
	stream := s.openStream("/api/v1/streaming/public?access_token=alice-read-token")
	slow := dial(t, s.Addr)
	start := time.Now()
	slow.send("GET /api/v1/streaming/health HTTP/1.1\r\nHost: x\r\n")
	time.Sleep(timeout / 2)
	slow.send("X-Slow: 1\r\n") // progress does not extend the deadline
	if got := slow.closedByServer(10 * timeout); got != "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n" {
		t.Errorf("slow head: got %q", got)
	}
	if d := time.Since(start); d < timeout || d > 10*timeout {
		t.Errorf("closed after %v, want about %v", d, timeout)
	}
	// A connection that never sends a byte is closed too.
	silent := dial(t, s.Addr)
	silent.closedByServer(10 * timeout)
	// The stream outlived several header timeouts.
	s.waitSubscribed("timeline:public")
	s.publish("timeline:public", `{"event":"delete","payload":"1"}`)
	stream.expectBody(sseEvent("delete", "1"))
}

// HTTP-7: an idle keep-alive connection is closed after the keep-alive
// timeout, silently.
func TestKeepAliveIdle_HTTP7(t *testing.T) {
	t.Parallel()
	const idle = 300 * time.Millisecond
	s := startServer(t, func(c *serverConfig) { c.opts.KeepAliveTimeout = idle })
	c := dial(t, s.Addr)
	c.get("/api/v1/streaming/health")
	c.expectResponse(healthResponse)
	start := time.Now()
	if got := c.closedByServer(3 * idle); got != "" {
		t.Errorf("idle close sent %q", got)
	}
	if d := time.Since(start); d < idle*3/4 {
		t.Errorf("closed after %v, before the %v keep-alive timeout", d, idle)
	}
}

// HTTP-8: unparsable requests get a bare 400 and a close; a head over
// 16 KiB gets 431. Other connections are not affected.
func TestMalformedRequests_HTTP8(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	stream := s.openStream("/api/v1/streaming/public?access_token=alice-read-token")
	const bad = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
	for _, req := range []string{
		"HELLO\r\n\r\n",
		"GET /api/v1/streaming/health HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
		"GET /api/v1/streaming/health HTTP/1.1\r\n\r\n", // no Host
		"GET /api/v1/streaming/health HTTP/1.1\nHost: x\n\n",
		"GET /api/v1/streaming/health HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", // a TLS ClientHello on the plain port
	} {
		c := dial(t, s.Addr)
		c.send(req)
		if got := c.closedByServer(2 * time.Second); got != bad {
			t.Errorf("%q:\n got %q\nwant %q", req, got, bad)
		}
	}
	// 431: more than 16 KiB without the end of the head.
	c := dial(t, s.Addr)
	c.send("GET /api/v1/streaming/health HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 17<<10) + "\r\n\r\n")
	if got := c.closedByServer(2 * time.Second); got != "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n" {
		t.Errorf("big head: got %q", got)
	}
	// Just under the cap is fine.
	c = dial(t, s.Addr)
	c.send("GET /api/v1/streaming/health HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 15<<10) + "\r\n\r\n")
	c.expectResponse(healthResponse)
	s.waitSubscribed("timeline:public")
	s.publish("timeline:public", `{"event":"delete","payload":"ok"}`)
	stream.expectBody(sseEvent("delete", "ok"))
}

// HTTP-7: pipelined requests in one write are answered in order, including
// ones behind a request that waits for the database.
func TestPipelining_HTTP7(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := dial(t, s.Addr)
	c.send(get("/api/v1/streaming/health") + get("/api/v1/streaming/health"))
	c.expectResponse(healthResponse)
	c.expectResponse(healthResponse)
	c.send(get("/api/v1/streaming/public?access_token=nope") + get("/api/v1/streaming/health") +
		get("/api/v1/streaming/list?list=2&access_token=alice-read-token") + get("/favicon.ico"))
	c.expectResponse(errorResponse(401, "Invalid access token"))
	c.expectResponse(healthResponse)
	c.expectResponse(errorResponse(401, "Not authorized to stream this list"))
	if got := c.response(); !strings.HasPrefix(got, "HTTP/1.1 404 Not Found\r\n") {
		t.Errorf("favicon: %q", got)
	}
	// A stream request after a health request in one write: the stream opens.
	c.send(get("/api/v1/streaming/health") + get("/api/v1/streaming/public?access_token=alice-read-token"))
	c.expectResponse(healthResponse)
	if h := c.head(); h != sseHead {
		t.Fatalf("pipelined stream head: %q", h)
	}
	c.expectBody(":)\n")
}

// HTTP-7: "Connection: close" gets "Connection: close" and the connection
// closes after the response; for a stream, after the stream ends (kill).
func TestConnectionClose_HTTP7(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := dial(t, s.Addr)
	c.get("/api/v1/streaming/health", "Connection: close")
	want := "HTTP/1.1 200 OK\r\nX-Powered-By: Express\r\nX-Request-Id: <uuid>\r\nAccess-Control-Allow-Origin: *\r\n" +
		"Content-Type: text/plain\r\nCache-Control: private, no-store\r\nDate: <date>\r\nConnection: close\r\n" +
		"Transfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n"
	c.expectResponse(want)
	if rest := c.closedByServer(time.Second); rest != "" {
		t.Errorf("after Connection: close: %q", rest)
	}
	// Gate errors answered after the database lookup close too.
	c = dial(t, s.Addr)
	c.get("/api/v1/streaming/public?access_token=nope", "Connection: close")
	got := c.response()
	if !strings.HasPrefix(got, "HTTP/1.1 401 Unauthorized\r\n") || !strings.Contains(got, "Connection: close\r\n") || strings.Contains(got, "Keep-Alive") {
		t.Errorf("401 with Connection: close: %q", got)
	}
	c.closedByServer(time.Second)

	c = dial(t, s.Addr)
	c.get("/api/v1/streaming/public?access_token=alice-read-token", "Connection: close")
	wantHead := strings.Replace(sseHead, "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n", "Connection: close\r\n", 1)
	if h := c.head(); h != wantHead {
		t.Fatalf("stream head:\n got %q\nwant %q", h, wantHead)
	}
	c.expectBody(":)\n")
	s.waitSubscribed("timeline:access_token:1")
	s.waitSubscribed("timeline:public")
	s.publish("timeline:public", `{"event":"delete","payload":"1"}`)
	c.expectBody(sseEvent("delete", "1"))
	s.publish("timeline:access_token:1", `{"event":"kill"}`)
	c.expectEnd(time.Second)
	if rest := c.closedByServer(time.Second); rest != "" {
		t.Errorf("after the end of a Connection: close stream: %q", rest)
	}
}

// HTTP-7: an HTTP/1.0 request gets a close-delimited body, for responses
// and for streams; the stream's end is the connection's end.
func TestHTTP10_HTTP7(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := dial(t, s.Addr)
	c.send("GET /api/v1/streaming/health HTTP/1.0\r\n\r\n")
	want := "HTTP/1.1 200 OK\r\nX-Powered-By: Express\r\nX-Request-Id: <uuid>\r\nAccess-Control-Allow-Origin: *\r\n" +
		"Content-Type: text/plain\r\nCache-Control: private, no-store\r\nDate: <date>\r\nConnection: close\r\n\r\n"
	if h := c.head(); h != want {
		t.Errorf("HTTP/1.0 health head:\n got %q\nwant %q", h, want)
	}
	if body := c.closedByServer(time.Second); body != "OK" {
		t.Errorf("HTTP/1.0 health body %q", body)
	}
	// "Connection: keep-alive" from an HTTP/1.0 client cannot keep a
	// close-delimited response alive: the answer says close, and closes.
	c = dial(t, s.Addr)
	c.send("GET /api/v1/streaming/health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	if h := c.head(); h != want {
		t.Errorf("HTTP/1.0 keep-alive health head:\n got %q\nwant %q", h, want)
	}
	if body := c.closedByServer(time.Second); body != "OK" {
		t.Errorf("HTTP/1.0 keep-alive health body %q", body)
	}
	c = dial(t, s.Addr)
	c.send("GET /api/v1/streaming/public HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	if h := c.head(); !strings.HasPrefix(h, "HTTP/1.1 401 Unauthorized\r\n") || !strings.Contains(h, "Connection: close\r\n\r\n") {
		t.Errorf("HTTP/1.0 keep-alive 401 head %q", h)
	}
	if body := c.closedByServer(time.Second); body != `{"error":"Missing access token"}` {
		t.Errorf("HTTP/1.0 keep-alive 401 body %q", body)
	}

	c = dial(t, s.Addr)
	c.send("GET /api/v1/streaming/user?access_token=alice-read-token HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	wantHead := "HTTP/1.1 200 OK\r\nX-Powered-By: Express\r\nX-Request-Id: <uuid>\r\nAccess-Control-Allow-Origin: *\r\n" +
		"Content-Type: text/event-stream\r\nCache-Control: private, no-store\r\nDate: <date>\r\nConnection: close\r\n\r\n"
	if h := c.head(); h != wantHead {
		t.Fatalf("HTTP/1.0 stream head:\n got %q\nwant %q", h, wantHead)
	}
	if got := c.readRaw(3, time.Second); got != ":)\n" {
		t.Fatalf("greeting %q", got)
	}
	s.waitSubscribed("timeline:" + alice)
	s.waitSubscribed("timeline:access_token:1")
	s.publish("timeline:"+alice, `{"event":"delete","payload":"1"}`)
	if got, want := c.readRaw(len(sseEvent("delete", "1")), time.Second), sseEvent("delete", "1"); got != want {
		t.Fatalf("HTTP/1.0 event %q, want %q", got, want)
	}
	s.publish("timeline:access_token:1", `{"event":"kill"}`)
	if rest := c.closedByServer(time.Second); rest != "" {
		t.Errorf("after kill on an HTTP/1.0 stream: %q", rest)
	}
}

// HTTP-10: a request body is read and discarded, never taken for the next
// request, whether it arrives with the head or while the stream runs.
func TestRequestBody_HTTP10(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	// Synchronous gate error, body and a pipelined request in one write.
	c := dial(t, s.Addr)
	c.send(request("GET", "/api/v1/streaming/foo", "Content-Length: 20") + "GET /favicon.ico HTT" + get("/api/v1/streaming/health"))
	c.expectResponse(errorResponse(400, "Unknown channel requested"))
	c.expectResponse(healthResponse)
	// Asynchronous gate error (database lookup), body arrives later.
	c.send(request("GET", "/api/v1/streaming/public?access_token=nope", "Content-Length: 10"))
	c.expectResponse(errorResponse(401, "Invalid access token"))
	c.send("0123456789" + get("/api/v1/streaming/health"))
	c.expectResponse(healthResponse)

	// A stream whose body came with the head.
	c = dial(t, s.Addr)
	c.send(request("GET", "/api/v1/streaming/user?access_token=alice-read-token", "Content-Length: 10") + "GET /x HTT")
	if h := c.head(); h != sseHead {
		t.Fatalf("head %q", h)
	}
	c.expectBody(":)\n")
	s.waitSubscribed("timeline:" + alice)
	s.waitSubscribed("timeline:access_token:1")
	s.publish("timeline:"+alice, `{"event":"delete","payload":"1"}`)
	c.expectBody(sseEvent("delete", "1"))
	s.publish("timeline:access_token:1", `{"event":"kill"}`)
	c.expectEnd(time.Second)
	c.get("/api/v1/streaming/health")
	c.expectResponse(healthResponse)

	// A stream whose body arrives after the stream started.
	c = dial(t, s.Addr)
	c.send(request("GET", "/api/v1/streaming/user?access_token=alice-read-token", "Content-Length: 10"))
	if h := c.head(); h != sseHead {
		t.Fatalf("head %q", h)
	}
	c.expectBody(":)\n")
	c.send("GET /x HTT")
	s.waitSubscribed("timeline:" + alice)
	s.waitSubscribed("timeline:access_token:1")
	s.publish("timeline:"+alice, `{"event":"delete","payload":"2"}`) // the loop has seen the body once this arrives
	c.expectBody(sseEvent("delete", "2"))
	s.publish("timeline:access_token:1", `{"event":"kill"}`)
	c.expectEnd(time.Second)
	c.get("/api/v1/streaming/health")
	c.expectResponse(healthResponse)
}

// LIFE-2: with PostgreSQL down, new streams get 500 and existing streams
// keep receiving; once it is back, new streams work again.
func TestPostgresDown_LIFE2(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgres(t)
	s := startServer(t, func(c *serverConfig) { c.pg = pg })
	c := s.openStream("/api/v1/streaming/user?access_token=alice-read-token")
	s.waitSubscribed("timeline:" + alice)
	pg.Stop()
	internal := errorResponse(500, "An unexpected error occurred")
	for _, target := range []string{
		"/api/v1/streaming/public?access_token=alice-read-token",
		"/api/v1/streaming/public?access_token=unknown", // not 401: the database could not say
	} {
		if got := s.roundTrip(get(target)); got != internal {
			t.Errorf("GET %s with PostgreSQL down:\n got %q\nwant %q", target, got, internal)
		}
	}
	// The gate's synchronous answers do not need the database.
	if got := s.roundTrip(get("/api/v1/streaming/public")); got != errorResponse(401, "Missing access token") {
		t.Errorf("missing token with PostgreSQL down: %q", got)
	}
	s.publish("timeline:"+alice, `{"event":"delete","payload":"1"}`)
	c.expectBody(sseEvent("delete", "1"))
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "streams open again after PostgreSQL restart", func() bool {
		cc := dial(t, s.Addr)
		cc.get("/api/v1/streaming/public?access_token=alice-read-token")
		h := cc.head()
		cc.c.Close()
		return h == sseHead
	})
}

// RED-3, STR-10, LIFE-3: after a Redis restart the server resubscribes,
// rewrites the subscribed: keys the restart lost, and open streams receive
// new events without reconnecting.
func TestRedisRestart_RED3(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	s := startServer(t, func(c *serverConfig) { c.redis = rs })
	user := s.openStream("/api/v1/streaming/user?access_token=alice-read-token")
	pub := s.openStream("/api/v1/streaming/public?access_token=bob-read-token")
	for _, ch := range []string{"timeline:" + alice, "timeline:" + alice + ":notifications", "timeline:public", "timeline:access_token:1"} {
		s.waitSubscribed(ch)
	}
	before := s.Hub.Stats.Reconnects.Load()
	if err := rs.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "hub reconnected", func() bool {
		return s.Hub.Stats.Reconnects.Load() > before && s.Hub.Stats.RedisConnected.Load()
	})
	for _, ch := range []string{"timeline:" + alice, "timeline:" + alice + ":notifications", "timeline:public", "timeline:access_token:1", "timeline:system:" + bob} {
		s.waitSubscribed(ch)
	}
	for _, ch := range []string{"timeline:" + alice, "timeline:" + alice + ":notifications", "timeline:public"} {
		waitFor(t, time.Second, "subscribed:"+ch+" rewritten after the restart (STR-10)", func() bool {
			val, ttl := s.rawKey(s.ns("subscribed:" + ch))
			return val == "1" && ttl >= 1070
		})
	}
	s.publish("timeline:"+alice+":notifications", `{"event":"notification","payload":{"id":"1"}}`)
	s.publish("timeline:public", `{"event":"delete","payload":"2"}`)
	user.expectBody(sseEvent("notification", `{"id":"1"}`))
	pub.expectBody(sseEvent("delete", "2"))
	// The system channels came back too: kill still works.
	s.publish("timeline:access_token:1", `{"event":"kill"}`)
	user.expectEnd(time.Second)
}

// §17.2 X-4, STYLE 17: a client that stops reading is cut off at the
// backlog cap; a healthy client on the same stream gets every event, in
// order, promptly, meanwhile.
func TestSlowConsumer_X4(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	s := startServer(t, func(c *serverConfig) {
		c.opts.MaxBacklogBytes = 64 << 10
		c.opts.Logger = newTestLogger(logs)
	})
	slow := dialTinyRcvBuf(t, s.Addr, 1024)
	slow.get("/api/v1/streaming/public?access_token=alice-read-token")
	if h := slow.head(); h != sseHead {
		t.Fatalf("slow head %q", h)
	}
	healthy := s.openStream("/api/v1/streaming/public?access_token=bob-read-token")
	s.waitSubscribed("timeline:public")

	pad := strings.Repeat("x", 2000)
	cut := -1
	for i := 0; i < 20000; i++ {
		id := pad + "-" + itoa(i)
		published := time.Now()
		s.publish("timeline:public", `{"event":"delete","payload":"`+id+`"}`)
		want := sseEvent("delete", id)
		if got := healthy.body(len(want), time.Second); got != want {
			t.Fatalf("healthy client, event %d: got %.80q…", i, got)
		}
		if d := time.Since(published); d > time.Second {
			t.Fatalf("healthy client got event %d after %v", i, d)
		}
		if cut < 0 && s.Srv.Stats.SlowConsumers() > 0 {
			cut = i
		}
		if cut >= 0 && i >= cut+20 {
			break
		}
	}
	if cut < 0 {
		t.Fatal("the slow consumer was never disconnected")
	}
	t.Logf("slow consumer cut after %d events of ~2 KB", cut+1)
	if n := s.Srv.Stats.SlowConsumers(); n != 1 {
		t.Errorf("SlowConsumers = %d, want 1", n)
	}
	// The slow client finds the end of its connection after what was queued.
	slow.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, slow.r); err != nil && !isEOF(err) {
		t.Errorf("slow client: %v (want EOF)", err)
	}
	if !strings.Contains(logs.String(), "reason=slow_consumer") {
		t.Errorf("no slow_consumer log line; logs:\n%s", logs.String())
	}
}

// §17.2 X-4: a backlog that makes no progress for the write-stall timeout
// is disconnected even below the byte cap.
func TestWriteStall_X4(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	s := startServer(t, func(c *serverConfig) {
		c.opts.MaxBacklogBytes = 1 << 30
		c.opts.WriteStallTimeout = 300 * time.Millisecond
		c.opts.KeepAliveTimeout = time.Second // a 200 ms tick; heartbeats stay at 15 s
		c.opts.Logger = newTestLogger(logs)
	})
	slow := dialTinyRcvBuf(t, s.Addr, 1024)
	slow.get("/api/v1/streaming/public?access_token=alice-read-token")
	if h := slow.head(); h != sseHead {
		t.Fatalf("slow head %q", h)
	}
	healthy := s.openStream("/api/v1/streaming/public?access_token=bob-read-token")
	s.waitSubscribed("timeline:public")
	// Enough to fill the socket buffers, so that the server holds a backlog.
	pad := strings.Repeat("y", 16<<10)
	msgs := make([]string, 384)
	for i := range msgs {
		msgs[i] = `{"event":"delete","payload":"` + pad + itoa(i) + `"}`
	}
	start := time.Now()
	s.publishAll("timeline:public", msgs...)
	for i := range msgs {
		want := sseEvent("delete", pad+itoa(i))
		if got := healthy.body(len(want), 5*time.Second); got != want {
			t.Fatalf("healthy client, event %d: got %.80q…", i, got)
		}
	}
	waitFor(t, 5*time.Second, "write-stall disconnect", func() bool { return s.Srv.Stats.SlowConsumers() == 1 })
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("disconnected after %v, before the stall timeout", d)
	}
	slow.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, slow.r); err != nil && !isEOF(err) {
		t.Errorf("slow client: %v (want EOF)", err)
	}
	if !strings.Contains(logs.String(), "reason=write_stall") {
		t.Errorf("no write_stall log line; logs:\n%s", logs.String())
	}
	// The healthy client is still streaming.
	s.publish("timeline:public", `{"event":"delete","payload":"after"}`)
	healthy.expectBody(sseEvent("delete", "after"))
}

// SSE-9, RED-2, STR-9: a client that goes away releases its stream and
// system channels (Redis UNSUBSCRIBE after the linger), even when it leaves
// while its request is still being authenticated; the subscribed: keys are
// left to expire.
func TestClientDisconnect_SSE9(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.openStream("/api/v1/streaming/user?access_token=bob-read-token")
	channels := []string{"timeline:" + bob, "timeline:" + bob + ":notifications", "timeline:access_token:6", "timeline:system:" + bob}
	for _, ch := range channels {
		s.waitSubscribed(ch)
	}
	// A second client leaves before its lookup finishes.
	early := dial(t, s.Addr)
	early.get("/api/v1/streaming/direct?access_token=bob-read-token")
	early.c.Close()
	c.c.Close()
	waitFor(t, 2*time.Second, "no open streams", func() bool { return s.Srv.Stats.EventSource.Load() == 0 })
	for _, ch := range append(channels, "timeline:direct:"+bob) {
		waitFor(t, 5*time.Second, "UNSUBSCRIBE "+ch, func() bool {
			v, err := s.Redis.Do(context.Background(), s.Redis.B().PubsubNumsub().Channel(s.ns(ch)).Build()).AsIntMap()
			return err == nil && v[s.ns(ch)] == 0
		})
	}
	if total, used := s.Hub.Channels(); total != 0 || used != 0 {
		t.Errorf("hub still holds %d timelines (%d used) after every client left", total, used)
	}
	if val, ttl := s.rawKey(s.ns("subscribed:timeline:" + bob)); val != "1" || ttl <= 0 {
		t.Errorf("subscribed:timeline:%s = %q TTL %d after the stream ended; STR-9 says it expires, not deleted", bob, val, ttl)
	}
}

// LIFE-4 under -race: loops register with the hub lazily, on their first
// connection, while the Redis reader delivers to loops already registered.
// Events flow to an open stream while connections land on fresh loops.
func TestLoopRegistrationDuringDelivery_LIFE4(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *serverConfig) { c.opts.Loops = 8 })
	c := s.openStream("/api/v1/streaming/public?access_token=alice-read-token")
	s.waitSubscribed("timeline:public")
	const n = 200
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			s.Redis.Do(context.Background(), s.Redis.B().Publish().Channel(s.ns("timeline:public")).
				Message(`{"event":"delete","payload":"`+itoa(i)+`"}`).Build())
		}
	}()
	for i := 0; i < 16; i++ { // round robin: every loop gets its first connection now
		h := dial(t, s.Addr)
		h.get("/api/v1/streaming/health")
		h.expectResponse(healthResponse)
	}
	<-done
	var want strings.Builder
	for i := 0; i < n; i++ {
		want.WriteString(sseEvent("delete", itoa(i)))
	}
	if got := c.body(want.Len(), 5*time.Second); got != want.String() {
		t.Fatalf("events lost or reordered while loops registered:\n got %.200q", got)
	}
}
