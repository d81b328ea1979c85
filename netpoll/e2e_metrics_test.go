package netpoll_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice/sluice/internal/testenv"
)

// exposition is a parsed Prometheus text exposition: sample values by
// `name{labels}` exactly as written, in order, and each family's TYPE.
type exposition struct {
	samples map[string]float64
	order   []string
	types   map[string]string
	help    map[string]string
}

var sampleRe = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// parseExposition checks the format of MET-1 strictly enough for scrapers:
// every sample belongs to a family whose HELP and TYPE came first, each
// family is declared once, and values parse.
func parseExposition(t *testing.T, body string) exposition {
	t.Helper()
	e := exposition{samples: map[string]float64{}, types: map[string]string{}, help: map[string]string{}}
	if !strings.HasSuffix(body, "\n") {
		t.Fatalf("exposition does not end with a newline")
	}
	for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, "# HELP "):
			name, text, _ := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			if _, dup := e.help[name]; dup {
				t.Errorf("HELP for %s twice", name)
			}
			e.help[name] = text
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, _ := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			if _, ok := e.help[name]; !ok {
				t.Errorf("TYPE %s without HELP before it (MET-1)", name)
			}
			if _, dup := e.types[name]; dup {
				t.Errorf("TYPE for %s twice", name)
			}
			e.types[name] = typ
		default:
			m := sampleRe.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("malformed sample line %q", line)
			}
			family := m[1]
			if _, ok := e.types[family]; !ok {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(family, suffix); ok && e.types[base] == "histogram" {
						family = base
					}
				}
			}
			if _, ok := e.types[family]; !ok {
				t.Errorf("sample %q before its family's TYPE (MET-1)", line)
			}
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				t.Errorf("sample %q: value: %v", line, err)
			}
			key := m[1] + m[2]
			if _, dup := e.samples[key]; dup {
				t.Errorf("sample %s twice", key)
			}
			e.samples[key] = v
			e.order = append(e.order, key)
		}
	}
	return e
}

// expectSamples scrapes until every sample has its wanted value: counters
// are added after the socket write that a client may see first.
func (s *server) expectSamples(want map[string]float64) exposition {
	s.t.Helper()
	var e exposition
	deadline := time.Now().Add(5 * time.Second)
	for {
		e = s.scrape()
		var wrong []string
		for key, v := range want {
			if got, ok := e.samples[key]; !ok || got != v {
				wrong = append(wrong, fmt.Sprintf("%s = %v (present %v), want %v", key, got, ok, v))
			}
		}
		if len(wrong) == 0 {
			return e
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("metrics after 5 s:\n%s", strings.Join(wrong, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// value returns a sample that must exist.
func (e exposition) value(t *testing.T, key string) float64 {
	t.Helper()
	v, ok := e.samples[key]
	if !ok {
		t.Fatalf("no sample %s", key)
	}
	return v
}

const metricsHead = "HTTP/1.1 200 OK\r\nX-Powered-By: Express\r\nX-Request-Id: <uuid>\r\nAccess-Control-Allow-Origin: *\r\n" +
	"Content-Type: text/plain; version=0.0.4; charset=utf-8\r\nCache-Control: private, no-store\r\n" +
	"Date: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: "

// scrape fetches /metrics on a new connection and parses it.
func (s *server) scrape() exposition {
	s.t.Helper()
	resp := s.roundTrip(get("/metrics"))
	head, body, _ := strings.Cut(resp, "\r\n\r\n")
	if !strings.HasPrefix(head+"\r\n\r\n", metricsHead) || !strings.HasSuffix(head, "Content-Length: "+strconv.Itoa(len(body))) {
		s.t.Fatalf("/metrics head (MET-1):\n got %q\nwant %q<n>", head, metricsHead)
	}
	return parseExposition(s.t, body)
}

// The 13 channel labels of MET-3, in order.
var metricsChannels = []string{"system", "user", "user:notification", "list", "direct", "public", "public:media",
	"public:local", "public:local:media", "public:remote", "public:remote:media", "hashtag", "hashtag:local"}

// MET-1, MET-2, MET-3, MET-4, HTTP-14: a fresh server exposes every family
// with its HELP text and the primed series at 0, in the reference's order,
// without authentication; HEAD gets the head alone and the connection
// stays usable.
func TestMetricsAtStartup_MET1_MET3(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	e := s.scrape()
	help := map[string]string{
		"connected_clients":             "The number of clients connected to the streaming server",
		"connected_channels":            "The number of channels the streaming server is streaming to",
		"redis_subscriptions":           "The number of Redis channels the streaming server is subscribed to",
		"redis_messages_received_total": "The total number of messages the streaming server has received from redis subscriptions",
		"messages_sent_total":           "The total number of messages the streaming server sent to clients per connection type",
		"pg_pool_total_connections":     "The total number of clients existing within the pool",
		"pg_pool_idle_connections":      "The number of clients which are not checked out but are currently idle in the pool",
		"pg_pool_waiting_queries":       "The number of queued requests waiting on a client when all clients are checked out",
	}
	types := map[string]string{"connected_clients": "gauge", "connected_channels": "gauge", "redis_subscriptions": "gauge",
		"redis_messages_received_total": "counter", "messages_sent_total": "counter", "pg_pool_total_connections": "gauge",
		"pg_pool_idle_connections": "gauge", "pg_pool_waiting_queries": "gauge",
		// MET-4: the process families of the reference, same names and types.
		"process_cpu_user_seconds_total": "counter", "process_cpu_system_seconds_total": "counter",
		"process_cpu_seconds_total": "counter", "process_start_time_seconds": "gauge",
		"process_resident_memory_bytes": "gauge", "process_virtual_memory_bytes": "gauge",
		"process_open_fds": "gauge", "process_max_fds": "gauge",
	}
	for name, want := range help {
		if got := e.help[name]; got != want {
			t.Errorf("HELP %s = %q, want %q (MET-2)", name, got, want)
		}
	}
	for name, want := range types {
		if got := e.types[name]; got != want {
			t.Errorf("TYPE %s = %q, want %q", name, got, want)
		}
	}
	for name := range e.types {
		if strings.HasPrefix(name, "nodejs_") {
			t.Errorf("family %s: Sluice must not fake nodejs_* (MET-4)", name)
		}
	}
	// MET-3: primed series, value 0, type before channel, in this order.
	var want []string
	for _, typ := range []string{"websocket", "eventsource"} {
		want = append(want, `connected_clients{type="`+typ+`"}`)
	}
	for _, ch := range metricsChannels {
		for _, typ := range []string{"websocket", "eventsource"} {
			want = append(want, `connected_channels{type="`+typ+`",channel="`+ch+`"}`)
		}
	}
	want = append(want, `messages_sent_total{type="websocket"}`, `messages_sent_total{type="eventsource"}`)
	last := -1
	for _, key := range want {
		if v := e.value(t, key); v != 0 {
			t.Errorf("%s = %v at start-up, want 0 (MET-3)", key, v)
		}
		i := indexOf(e.order, key)
		if i < last && !strings.HasPrefix(key, "messages_sent_total") {
			t.Errorf("%s out of MET-3's order", key)
		}
		last = i
	}
	for _, key := range []string{"redis_messages_received_total", "redis_subscriptions"} {
		if v := e.value(t, key); v != 0 {
			t.Errorf("%s = %v at start-up, want 0 (MET-3)", key, v)
		}
	}
	if v := e.value(t, "process_resident_memory_bytes"); v <= 0 {
		t.Errorf("process_resident_memory_bytes = %v", v)
	}

	// HEAD: the same head, no body; the keep-alive connection goes on.
	c := dial(t, s.Addr)
	c.send(request("HEAD", "/metrics"))
	if h := c.head(); !strings.HasPrefix(h, metricsHead) {
		t.Fatalf("HEAD /metrics head: %q", h)
	}
	c.get("/api/v1/streaming/health")
	c.expectResponse(healthResponse)
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// MET-2, X-11: the gauges follow streams opening and closing on both
// connection types, and the counters count what was received, sent,
// dropped by each filtering rule and delivered (latency histogram).
func TestMetricsFollowTraffic_MET2_X11(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	aliceSSE := s.openStream("/api/v1/streaming/public?access_token=alice-read-token")
	bobSSE := s.openStream("/api/v1/streaming/public?access_token=bob-read-token")
	w := s.dialWSAs("alice-read-token", "?stream=user")
	s.waitSubscribed("timeline:public")
	s.waitSubscribed("timeline:" + alice)

	e := s.expectSamples(map[string]float64{
		`connected_clients{type="eventsource"}`:                     2,
		`connected_clients{type="websocket"}`:                       1,
		`connected_channels{type="eventsource",channel="public"}`:   2,
		`connected_channels{type="eventsource",channel="system"}`:   4,
		`connected_channels{type="websocket",channel="user"}`:       1,
		`connected_channels{type="websocket",channel="system"}`:     2,
		`connected_channels{type="websocket",channel="public"}`:     0,
		`connected_channels{type="eventsource",channel="hashtag"}`:  0,
		`messages_sent_total{type="eventsource"}`:                   0,
		`sluice_events_dropped_total{reason="block"}`:               0,
		`sluice_delivery_latency_seconds_count{type="eventsource"}`: 0,
	})
	// Two system channels per connection, plus public and alice's user
	// timeline and its notifications (WS user stream).
	if got := e.value(t, "redis_subscriptions"); got < 5 {
		t.Errorf("redis_subscriptions = %v, want >= 5", got)
	}

	// alice blocks troll, mutes noisy and blocks spam.example; bob reads
	// only en and de (see e2e_filter_test.go).
	en := `"en"`
	s.publishAll("timeline:public",
		post{id: "1", account: acctTroll, lang: en, content: "a"}.update("update"),
		post{id: "2", account: acctNoisy, lang: en, content: "b"}.update("update"),
		post{id: "3", account: acctSpammer, lang: en, content: "c"}.update("update"),
		post{id: "4", account: acctCarol, lang: `"fr"`, content: "d"}.update("update"),
		`{"event":"delete","payload":"5"}`)
	s.publish("timeline:"+alice, `{"event":"delete","payload":"6"}`)
	aliceSSE.expectBody(sseEvent("update", post{id: "4", account: acctCarol, lang: `"fr"`, content: "d"}.filtered("[]")) +
		sseEvent("delete", "5"))
	bobSSE.expectBody(strings.Join([]string{
		sseEvent("update", post{id: "1", account: acctTroll, lang: en, content: "a"}.filtered("[]")),
		sseEvent("update", post{id: "2", account: acctNoisy, lang: en, content: "b"}.filtered("[]")),
		sseEvent("update", post{id: "3", account: acctSpammer, lang: en, content: "c"}.filtered("[]")),
		sseEvent("delete", "5"),
	}, ""))
	w.expectText(wsEvent(`["user"]`, "delete", `"6"`))

	e = s.expectSamples(map[string]float64{
		`sluice_delivery_latency_seconds_count{type="websocket"}`:  1,
		`messages_sent_total{type="eventsource"}`:                  6,
		`messages_sent_total{type="websocket"}`:                    1,
		"redis_messages_received_total":                            6,
		`sluice_events_dropped_total{reason="block"}`:              1,
		`sluice_events_dropped_total{reason="mute"}`:               1,
		`sluice_events_dropped_total{reason="domain_block"}`:       1,
		`sluice_events_dropped_total{reason="language"}`:           1,
		`sluice_events_dropped_total{reason="feed_access"}`:        0,
		`sluice_slow_consumer_disconnects_total{type="websocket"}`: 0,
	})
	// Latency is observed once per event and loop that delivered it:
	// 4 events reached an SSE recipient (one was dropped for both).
	if n := e.value(t, `sluice_delivery_latency_seconds_count{type="eventsource"}`); n < 4 || n > 8 {
		t.Errorf("eventsource latency count = %v, want 4..8 (4 delivered events, 2 loops)", n)
	}
	if inf := e.value(t, `sluice_delivery_latency_seconds_bucket{type="websocket",le="+Inf"}`); inf != 1 {
		t.Errorf("+Inf bucket = %v, want 1", inf)
	}
	if q := e.value(t, `sluice_pg_queries_total{purpose="token"}`); q < 1 {
		t.Errorf("token queries = %v, want >= 1", q)
	}

	// Closing the streams brings the gauges back to 0.
	aliceSSE.c.Close()
	bobSSE.c.Close()
	w.c.Close()
	waitFor(t, 5*time.Second, "gauges back to 0", func() bool {
		e := s.scrape()
		return e.samples[`connected_clients{type="eventsource"}`] == 0 &&
			e.samples[`connected_clients{type="websocket"}`] == 0 &&
			e.samples[`connected_channels{type="eventsource",channel="public"}`] == 0 &&
			e.samples[`connected_channels{type="websocket",channel="user"}`] == 0 &&
			e.samples[`connected_channels{type="eventsource",channel="system"}`] == 0
	})
}

// statusBody is X-1's body.
type statusBody struct {
	Connections   int  `json:"connections"`
	EventSource   int  `json:"eventsource"`
	WebSocket     int  `json:"websocket"`
	Subscriptions int  `json:"subscriptions"`
	Draining      bool `json:"draining"`
	Uptime        *int `json:"uptime_seconds"`
	Redis         struct {
		Connected bool `json:"connected"`
		Channels  int  `json:"channels"`
	} `json:"redis"`
	Postgres struct {
		Connected bool `json:"connected"`
	} `json:"postgres"`
	Version string `json:"version"`
}

const statusHead = "HTTP/1.1 200 OK\r\nX-Powered-By: Express\r\nX-Request-Id: <uuid>\r\nAccess-Control-Allow-Origin: *\r\n" +
	"Content-Type: application/json\r\nCache-Control: private, no-store\r\n" +
	"Date: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: "

// statusGet fetches a status path and decodes its JSON body into v,
// checking the head (§17.1).
func (s *server) statusGet(path string, v any, headers ...string) {
	s.t.Helper()
	resp := s.roundTrip(get(path, headers...))
	head, body, _ := strings.Cut(resp, "\r\n\r\n")
	if !strings.HasPrefix(head+"\r\n\r\n", statusHead) || !strings.HasSuffix(head, "Content-Length: "+strconv.Itoa(len(body))) {
		s.t.Fatalf("%s head:\n got %q\nwant %q<n>", path, head, statusHead)
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		s.t.Fatalf("%s body %q: %v", path, body, err)
	}
}

// the status endpoints report connections, subscriptions,
// Redis and PostgreSQL state and queues, without naming accounts unless
// SLUICE_STATUS_DETAIL is on; PostgreSQL going down shows.
func TestStatusEndpoints_X1_X3(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgres(t)
	s := startServer(t, func(c *serverConfig) { c.pg = pg })
	s.openStream("/api/v1/streaming/public?access_token=alice-read-token")
	s.openStream("/api/v1/streaming/hashtag?tag=cats&access_token=alice-read-token")
	w := s.dialWSAs("bob-read-token", "?stream=public")
	s.waitSubscribed("timeline:hashtag:cats")
	w.sync()

	var st statusBody
	// RedisChannels is stored once the SUBSCRIBEs are confirmed.
	waitFor(t, 5*time.Second, "six Redis channels", func() bool {
		s.statusGet("/api/v1/streaming/status", &st)
		return st.Redis.Channels == 6
	})
	// Four TCP connections with the status request's own; six Redis
	// channels: public, the hashtag, and two system channels per token.
	if st.Connections != 4 || st.EventSource != 2 || st.WebSocket != 1 || st.Subscriptions != 3 ||
		!st.Redis.Connected || st.Redis.Channels != 6 || !st.Postgres.Connected || st.Draining ||
		st.Uptime == nil || st.Version != "test" {
		t.Errorf("status = %+v", st)
	}

	per := map[string]int{}
	s.statusGet("/api/v1/streaming/status/per_timeline", &per)
	want := map[string]int{}
	for _, ch := range metricsChannels[1:] {
		want[ch] = 0
	}
	want["public"], want["hashtag"] = 2, 1
	if !mapsEqual(per, want) {
		t.Errorf("per_timeline = %v, want %v (no concrete channels without SLUICE_STATUS_DETAIL)", per, want)
	}

	var q struct {
		RedisInbound    *int `json:"redis_inbound"`
		FilterPending   *int `json:"filter_pending"`
		OutboundBytes   *int `json:"outbound_bytes"`
		MaxBacklogBytes *int `json:"max_connection_backlog_bytes"`
		SlowConsumers   *int `json:"slow_consumer_disconnects"`
	}
	s.statusGet("/api/v1/streaming/status/queue", &q)
	if q.RedisInbound == nil || q.FilterPending == nil || q.OutboundBytes == nil || q.MaxBacklogBytes == nil ||
		q.SlowConsumers == nil {
		t.Fatalf("queue = %s", fmt.Sprint(q))
	}
	// Idle: nothing waits anywhere.
	if *q.RedisInbound != 0 || *q.FilterPending != 0 || *q.OutboundBytes != 0 || *q.MaxBacklogBytes != 0 || *q.SlowConsumers != 0 {
		t.Errorf("idle queue = in %d, held %d, out %d, worst %d, slow %d", *q.RedisInbound, *q.FilterPending,
			*q.OutboundBytes, *q.MaxBacklogBytes, *q.SlowConsumers)
	}

	pg.Stop()
	waitFor(t, 5*time.Second, "postgres.connected false", func() bool { // past the 1 s ping cache
		s.statusGet("/api/v1/streaming/status", &st)
		return !st.Postgres.Connected
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// X-2 with SLUICE_STATUS_DETAIL, and §17.1's token: concrete stream
// channels (never the system ones), and 401 without the right bearer.
func TestStatusDetailAndToken_X2(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *serverConfig) {
		c.opts.StatusDetail = true
		c.opts.StatusToken = "s3cret"
	})
	s.openStream("/api/v1/streaming/hashtag?tag=cats&access_token=alice-read-token")
	s.waitSubscribed("timeline:hashtag:cats")
	deny := errorResponse(401, "Invalid access token")
	for _, h := range [][]string{nil, {"Authorization: Bearer wrong"}, {"Authorization: s3cret"}} {
		if got := s.roundTrip(get("/api/v1/streaming/status/per_timeline", h...)); got != deny {
			t.Errorf("per_timeline with %v:\n got %q\nwant %q", h, got, deny)
		}
	}
	per := map[string]int{}
	s.statusGet("/api/v1/streaming/status/per_timeline", &per, "Authorization: Bearer s3cret")
	if !mapsEqual(per, map[string]int{"timeline:hashtag:cats": 1}) {
		t.Errorf("per_timeline detail = %v", per)
	}
	// /metrics keeps the reference's behaviour: no authentication (HTTP-14).
	s.scrape()
}

// §17.1: with SLUICE_STATUS_ENDPOINTS=false the paths fall through to the
// stream gate, like the reference.
func TestStatusEndpointsOff(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *serverConfig) { c.opts.StatusEndpoints = false })
	want := errorResponse(400, "Unknown channel requested")
	for _, p := range []string{"/api/v1/streaming/status", "/api/v1/streaming/status/queue"} {
		if got := s.roundTrip(get(p + "?access_token=alice-read-token")); got != want {
			t.Errorf("%s:\n got %q\nwant %q", p, got, want)
		}
	}
}
