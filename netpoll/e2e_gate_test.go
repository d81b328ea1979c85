package netpoll_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice/sluice/internal/testenv"
)

// End-to-end tests of the HTTP surface in front of the streams: routing
// (§3.1), the stream gate (§3.2, §3.3), authentication (§5) and the fixed
// endpoints (§3.5). Every assertion is on raw bytes (STYLE 16).

const (
	alice = "109000000000000001"
	bob   = "109000000000000002"
)

// get is a GET request line plus Host for target.
func get(target string, headers ...string) string { return request("GET", target, headers...) }

// HTTP-1, HTTP-2, §3.2 step 1: a path that is not exactly a stream path is
// 400 "Unknown channel requested" before authentication, with or without a
// token.
func TestGate_UnknownPaths_HTTP1(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	want := errorResponse(400, "Unknown channel requested")
	for _, path := range []string{
		"/", "/foo", "/api/v1/streaming", "/api/v1/streaming/",
		"/api/v1/streaming/public/", "/API/v1/streaming/public",
		"/api/v1/streaming/%70ublic", "/api/v1/streaming/public%2Flocal",
		"/api/v1/streaming/user/", "/api/v1/streaming//public",
	} {
		for _, query := range []string{"", "?access_token=alice-read-token", "?access_token=nope"} {
			if got := s.roundTrip(get(path + query)); got != want {
				t.Errorf("GET %s%s:\n got %q\nwant %q", path, query, got, want)
			}
		}
	}
	// The 400 keeps the connection alive (HTTP-4: Connection: keep-alive).
	c := dial(t, s.Addr)
	c.get("/foo")
	c.expectResponse(want)
	c.get("/api/v1/streaming/health")
	c.expectResponse(healthResponse)
}

// AUTH-1, AUTH-3, AUTH-4, HTTP-3: where the token comes from and which
// tokens are accepted.
func TestGate_Tokens_AUTH1_AUTH3(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const public = "/api/v1/streaming/public"
	missing := errorResponse(401, "Missing access token")
	invalid := errorResponse(401, "Invalid access token")
	cases := []struct {
		name    string
		req     string
		want    string // "" means the stream opens
		comment string
	}{
		{"no token", get(public), missing, "AUTH-1"},
		{"empty access_token", get(public + "?access_token="), missing, "AUTH-1: present but empty"},
		{"empty Authorization", get(public, "Authorization: "), missing, "AUTH-1: empty header is absent"},
		{"Bearer only", get(public, "Authorization: Bearer "), invalid, "AUTH-1: 'Bearer ' is non-empty, token is empty"},
		{"unknown", get(public + "?access_token=unknown-token"), invalid, "AUTH-3"},
		{"revoked", get(public + "?access_token=frank-revoked-token"), invalid, "AUTH-3 revoked_at"},
		{"disabled user", get(public + "?access_token=dave-disabled-token"), invalid, "AUTH-3 users.disabled"},
		{"suspended account", get(public + "?access_token=erin-suspended-token"), invalid, "AUTH-3 accounts.suspended_at"},
		{"expired accepted", get(public + "?access_token=frank-expired-token"), "", "AUTH-4: expires_in not checked"},
		{"unapproved accepted", get(public + "?access_token=grace-unapproved-token"), "", "AUTH-4: approved/confirmed not checked"},
		{"Bearer", get(public, "Authorization: Bearer alice-read-token"), "", "AUTH-1"},
		{"Bearer x", get(public, "Authorization: Bearer x"), invalid, "AUTH-1"},
		{"Basic", get(public, "Authorization: Basic alice-read-token"), invalid, "AUTH-1: whole value is the token"},
		{"lowercase bearer", get(public, "Authorization: bearer alice-read-token"), invalid, "AUTH-1: prefix is case-sensitive"},
		{"raw Authorization", get(public, "Authorization: alice-read-token"), "", "AUTH-1: no prefix, whole value"},
		{"Authorization beats query", get(public+"?access_token=alice-read-token", "Authorization: Bearer x"), invalid, "AUTH-2"},
		{"query beats protocol", get(public+"?access_token=x", "Sec-WebSocket-Protocol: alice-read-token"), invalid, "AUTH-1 order"},
		{"Sec-WebSocket-Protocol on SSE", get(public, "Sec-WebSocket-Protocol: alice-read-token"), "", "AUTH-1 source 3 works for SSE"},
		{"Sec-WebSocket-Protocol unsplit", get(public, "Sec-WebSocket-Protocol: alice-read-token, chat"), invalid, "AUTH-1: whole value"},
		{"percent-encoded query token", get(public + "?access_token=alice%2Dread%2Dtoken"), "", "STR-5"},
		{"first access_token wins", get(public + "?access_token=alice-read-token&access_token=x"), "", "STR-6"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, s.Addr)
			c.send(tc.req)
			if tc.want == "" {
				if h := c.head(); h != sseHead {
					t.Fatalf("%s: head\n got %q\nwant %q", tc.comment, h, sseHead)
				}
				c.expectBody(":)\n")
				return
			}
			if got := c.response(); got != tc.want {
				t.Fatalf("%s:\n got %q\nwant %q", tc.comment, got, tc.want)
			}
		})
	}
}

// AUTH-9, AUTH-7, HTTP-2: scope checks of the gate.
func TestGate_Scopes_AUTH9(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	scope := errorResponse(401, "Access token does not have the required scopes")
	cases := []struct {
		token, path string
		ok          bool
	}{
		{"alice-write-token", "/api/v1/streaming/public", false},
		{"alice-write-token", "/api/v1/streaming/user", false},
		{"alice-write-token", "/api/v1/streaming/list?list=2", false}, // HTTP-2: scope before list ownership
		{"alice-write-token", "/api/v1/streaming/hashtag", false},     // HTTP-2: scope before the tag check
		{"bob-profile-token", "/api/v1/streaming/public", false},
		{"bob-notifications-token", "/api/v1/streaming/user/notification", true},
		{"bob-notifications-token", "/api/v1/streaming/public", false},
		{"bob-notifications-token", "/api/v1/streaming/user", false}, // user needs read or read:statuses
		{"alice-statuses-token", "/api/v1/streaming/user/notification", false},
		{"alice-statuses-token", "/api/v1/streaming/public/local", true},
		{"alice-statuses-token", "/api/v1/streaming/user", true},
		{"nobody-null-scopes-token", "/api/v1/streaming/public", false}, // AUTH-7: NULL scopes are empty, not 500
		{"nobody-null-scopes-token", "/api/v1/streaming/user/notification", false},
	}
	for _, tc := range cases {
		t.Run(tc.token+tc.path, func(t *testing.T) {
			t.Parallel()
			sep := "?"
			if strings.Contains(tc.path, "?") {
				sep = "&"
			}
			c := dial(t, s.Addr)
			c.get(tc.path + sep + "access_token=" + tc.token)
			if tc.ok {
				if h := c.head(); h != sseHead {
					t.Fatalf("head\n got %q\nwant %q", h, sseHead)
				}
				c.expectBody(":)\n")
				return
			}
			c.expectResponse(scope)
		})
	}
}

// AUTH-10: a read:statuses token on /user gets timeline:<a> but not
// timeline:<a>:notifications.
func TestGate_UserStreamWithoutNotificationScope_AUTH10(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.openStream("/api/v1/streaming/user?access_token=alice-statuses-token")
	s.waitSubscribed("timeline:" + alice)
	if n := s.publish("timeline:"+alice+":notifications", `{"event":"notification","payload":{"id":"1"}}`); n != 0 {
		t.Errorf("timeline:<a>:notifications has %d subscribers; want 0 for a read:statuses token (AUTH-10)", n)
	}
	s.publish("timeline:"+alice, `{"event":"delete","payload":"42"}`)
	c.expectBody(sseEvent("delete", "42")) // and not the notification first
	if _, ttl := s.rawKey(s.ns("subscribed:timeline:" + alice + ":notifications")); ttl != -2 {
		t.Errorf("subscribed: key written for a channel the stream does not include (ttl %d)", ttl)
	}
}

// §4.3, §5.5, AUTH-12, AUTH-12a, HTTP-2: stream parameters, checked after
// authentication and scopes.
func TestGate_StreamParameters_AUTH12(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const tok = "access_token=alice-read-token"
	missingTag := errorResponse(400, "Missing tag name parameter")
	missingList := errorResponse(400, "Missing list name parameter")
	notOwned := errorResponse(401, "Not authorized to stream this list")
	for _, tc := range []struct{ target, want string }{
		{"/api/v1/streaming/hashtag?" + tok, missingTag},
		{"/api/v1/streaming/hashtag?tag=&" + tok, missingTag},
		{"/api/v1/streaming/hashtag/local?" + tok, missingTag},
		{"/api/v1/streaming/hashtag/local?tag&" + tok, missingTag},
		{"/api/v1/streaming/hashtag", errorResponse(401, "Missing access token")}, // §3.2: auth before parameters
		{"/api/v1/streaming/list?" + tok, missingList},
		{"/api/v1/streaming/list?list=&" + tok, missingList},
		{"/api/v1/streaming/list?list=2&" + tok, notOwned},                    // bob's list
		{"/api/v1/streaming/list?list=999&" + tok, notOwned},                  // no such list
		{"/api/v1/streaming/list?list=abc&" + tok, notOwned},                  // not a bigint
		{"/api/v1/streaming/list?list=1.5&" + tok, notOwned},                  // not a bigint
		{"/api/v1/streaming/list?list=true&" + tok, notOwned},                 // not a bigint
		{"/api/v1/streaming/list?list=99999999999999999999&" + tok, notOwned}, // out of range
	} {
		if got := s.roundTrip(get(tc.target)); got != tc.want {
			t.Errorf("GET %s:\n got %q\nwant %q", tc.target, got, tc.want)
		}
	}
}

// AUTH-12a: list=01 is alice's list 1 and listens on timeline:list:1, the
// channel Rails publishes to.
func TestGate_ListLeadingZero_AUTH12a(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.openStream("/api/v1/streaming/list?list=01&access_token=alice-read-token")
	s.waitSubscribed("timeline:list:1")
	s.publish("timeline:list:1", `{"event":"update","payload":{"id":"7","content":"in list"}}`)
	c.expectBody(sseEvent("update", `{"id":"7","content":"in list"}`))
	if n := s.publish("timeline:list:01", `{"event":"delete","payload":"1"}`); n != 0 {
		t.Errorf("timeline:list:01 has %d subscribers; the channel must use the canonical id", n)
	}
}

// HTTP-13, §3.2 step 5: a non-GET/HEAD request to a stream path passes
// authentication and scopes, then gets Express's 404 page. The query string
// (which holds the token) is not echoed.
func TestGate_PostToStream_HTTP13(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	body := "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n" +
		"<body>\n<pre>Cannot POST /api/v1/streaming/public</pre>\n</body>\n</html>\n"
	if len(body) != 163 {
		t.Fatalf("spec body is 163 bytes, test has %d", len(body))
	}
	want404 := "HTTP/1.1 404 Not Found\r\nX-Powered-By: Express\r\nX-Request-Id: <uuid>\r\nAccess-Control-Allow-Origin: *\r\n" +
		"Content-Security-Policy: default-src 'none'\r\nX-Content-Type-Options: nosniff\r\n" +
		"Content-Type: text/html; charset=utf-8\r\nContent-Length: 163\r\nDate: <date>\r\n" +
		"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n" + body

	c := dial(t, s.Addr)
	c.send(request("POST", "/api/v1/streaming/public?access_token=alice-read-token"))
	c.expectResponse(want404)
	// Keep-alive, and the body of a POST is read and ignored (HTTP-10).
	c.send(request("POST", "/api/v1/streaming/public", "Authorization: Bearer alice-read-token", "Content-Length: 11") + "hello world")
	c.expectResponse(want404)
	c.get("/api/v1/streaming/health")
	c.expectResponse(healthResponse)

	// Without a token, or with a bad scope, the gate answers first (§3.2).
	if got := s.roundTrip(request("POST", "/api/v1/streaming/public")); got != errorResponse(401, "Missing access token") {
		t.Errorf("POST without token:\n got %q", got)
	}
	if got := s.roundTrip(request("DELETE", "/api/v1/streaming/public?access_token=alice-write-token")); got != errorResponse(401, "Access token does not have the required scopes") {
		t.Errorf("DELETE with write token:\n got %q", got)
	}
	if got := s.roundTrip(request("POST", "/api/v1/streaming/nope?access_token=alice-read-token")); got != errorResponse(400, "Unknown channel requested") {
		t.Errorf("POST to unknown path:\n got %q", got)
	}
	// A POST opens no stream and leaves no subscription behind.
	if n := s.Srv.Stats.EventSource.Load(); n != 0 {
		t.Errorf("EventSource = %d after POSTs, want 0", n)
	}
	// The method and path are escaped: "Cannot PUT /api/v1/streaming/user".
	c.send(request("PUT", "/api/v1/streaming/user?access_token=alice-read-token"))
	got := c.response()
	if !strings.Contains(got, "<pre>Cannot PUT /api/v1/streaming/user</pre>") || strings.Contains(got, "access_token") {
		t.Errorf("PUT /user:\n got %q", got)
	}
}

// HTTP-6: OPTIONS on any path, without credentials, is a CORS preflight.
func TestPreflight_HTTP6(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	head := "HTTP/1.1 204 No Content\r\nX-Powered-By: Express\r\nX-Request-Id: <uuid>\r\nAccess-Control-Allow-Origin: *\r\n" +
		"Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\nVary: Access-Control-Request-Headers\r\n"
	tail := "Content-Length: 0\r\nDate: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n"
	c := dial(t, s.Addr)
	for _, path := range []string{"/api/v1/streaming/public", "/foo", "/api/v1/streaming/health", "/api/v1/streaming/user?access_token=nope"} {
		c.send(request("OPTIONS", path))
		c.expectResponse(head + tail)
		c.send(request("OPTIONS", path, "Access-Control-Request-Headers: authorization, x-CUSTOM", "Origin: https://a.example"))
		c.expectResponse(head + "Access-Control-Allow-Headers: authorization, x-CUSTOM\r\n" + tail)
	}
	// An empty list is left out, as the cors package does (allowedHeaders.length).
	c.send(request("OPTIONS", "/api/v1/streaming/public", "Access-Control-Request-Headers: "))
	c.expectResponse(head + tail)
}

// HTTP-12: /favicon.ico is a 404 without Content-Type, for GET and HEAD.
func TestFavicon_HTTP12(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	want := "HTTP/1.1 404 Not Found\r\nX-Powered-By: Express\r\nX-Request-Id: <uuid>\r\nAccess-Control-Allow-Origin: *\r\n" +
		"Content-Length: 0\r\nDate: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n"
	c := dial(t, s.Addr)
	c.get("/favicon.ico")
	c.expectResponse(want)
	c.send(request("HEAD", "/favicon.ico"))
	c.expectResponse(want)
	c.get("/favicon.ico?x=1")
	c.expectResponse(want)
	// Only GET/HEAD: a POST falls through to the gate (§3.1 row 6).
	c.send(request("POST", "/favicon.ico"))
	c.expectResponse(errorResponse(400, "Unknown channel requested"))
}

// HTTP-11, SSE-10: HEAD gets the heads only, and the connection carries on.
func TestHead_HTTP11_SSE10(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := dial(t, s.Addr)
	c.send(request("HEAD", "/api/v1/streaming/health"))
	healthHead := healthResponse[:strings.Index(healthResponse, "\r\n\r\n")+4]
	if h := c.head(); h != healthHead {
		t.Fatalf("HEAD health:\n got %q\nwant %q", h, healthHead)
	}
	// SSE-10: the SSE head and nothing else; no stream stays open.
	c.send(request("HEAD", "/api/v1/streaming/public?access_token=alice-read-token"))
	if h := c.head(); h != sseHead {
		t.Fatalf("HEAD stream:\n got %q\nwant %q", h, sseHead)
	}
	c.get("/api/v1/streaming/health")
	c.expectResponse(healthResponse) // the very next bytes: no ":)" and no body
	if n := s.Srv.Stats.EventSource.Load(); n != 0 {
		t.Errorf("EventSource = %d after HEAD, want 0 (SSE-10)", n)
	}
	// A gate error to HEAD: the head without the body.
	c.send(request("HEAD", "/api/v1/streaming/public"))
	errHead := errorResponse(401, "Missing access token")
	errHead = errHead[:strings.Index(errHead, "\r\n\r\n")+4]
	if h := c.head(); h != errHead {
		t.Fatalf("HEAD without token:\n got %q\nwant %q", h, errHead)
	}
	c.get("/api/v1/streaming/health")
	c.expectResponse(healthResponse)
	c.quiet(50 * time.Millisecond)
}

// §4.3.1 via the gate: hashtag parameters are form-decoded (STR-5), the
// first value wins (STR-6) and the tag is normalized (STR-7).
func TestGate_HashtagParameter_STR5_STR6(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for i, target := range []string{
		"/api/v1/streaming/hashtag?tag=Caf%C3%A9&access_token=alice-read-token",
		"/api/v1/streaming/hashtag?tag=CAFE&tag=other&access_token=alice-read-token",
		"/api/v1/streaming/hashtag?tag=%23caf%C3%89!&access_token=alice-read-token",
	} {
		c := s.openStream(target)
		s.waitSubscribed("timeline:hashtag:cafe")
		msg := `{"event":"delete","payload":"` + strconv.Itoa(i) + `"}`
		s.publish("timeline:hashtag:cafe", msg)
		c.expectBody(sseEvent("delete", strconv.Itoa(i)))
		c.c.Close()
		s.waitUnsubscribed("timeline:hashtag:cafe") // past the 100 ms linger
	}
}

// AUTH-5, AUTH-6, AUTH-4: a token revoked after a stream opened is refused
// at the next connection, while the open stream keeps its identity until a
// kill; a client-credentials token (no resource owner) is invalid.
func TestRevocationAtNextConnect_AUTH5_AUTH6(t *testing.T) {
	t.Parallel()
	pg := testenv.SharedPostgres(t)
	pg.Exec(t, `INSERT INTO oauth_access_tokens (id, token, scopes, resource_owner_id, application_id) VALUES
		(901, 'e2e-revocable-token', 'read', 2, 1),
		(902, 'e2e-app-token', 'read', NULL, 1)`)
	t.Cleanup(func() { pg.Exec(t, `DELETE FROM oauth_access_tokens WHERE id IN (901, 902)`) })
	s := startServer(t)
	c := s.openStream("/api/v1/streaming/user?access_token=e2e-revocable-token")
	s.waitSubscribed("timeline:access_token:901")
	s.waitSubscribed("timeline:" + bob)
	pg.Exec(t, `UPDATE oauth_access_tokens SET revoked_at = now() WHERE id = 901`)
	if got := s.roundTrip(get("/api/v1/streaming/user?access_token=e2e-revocable-token")); got != errorResponse(401, "Invalid access token") {
		t.Errorf("revoked token at the next connection:\n got %q", got)
	}
	if got := s.roundTrip(get("/api/v1/streaming/user?access_token=e2e-app-token")); got != errorResponse(401, "Invalid access token") {
		t.Errorf("client-credentials token:\n got %q", got)
	}
	s.publish("timeline:"+bob, `{"event":"delete","payload":"1"}`)
	c.expectBody(sseEvent("delete", "1"))
	s.publish("timeline:access_token:901", `{"event":"kill"}`)
	c.expectEnd(time.Second)
}

// LOG-1, HTTP-5: every response carries a fresh UUIDv4 request id; one sent
// by the client is not echoed.
func TestRequestIDs_LOG1(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := dial(t, s.Addr)
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		c.get("/api/v1/streaming/health", "X-Request-Id: 00000000-0000-4000-8000-000000000000")
		c.c.SetReadDeadline(time.Now().Add(2 * time.Second))
		var head strings.Builder
		for !strings.HasSuffix(head.String(), "\r\n\r\n") {
			line, err := c.r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			head.WriteString(line)
		}
		m := reqIDRe.FindStringSubmatch(head.String())
		if m == nil || !uuidRe.MatchString(m[1]) || seen[m[1]] || m[1] == "00000000-0000-4000-8000-000000000000" {
			t.Fatalf("request %d: bad or repeated X-Request-Id in %q", i, head.String())
		}
		seen[m[1]] = true
		c.readRaw(len("2\r\nOK\r\n0\r\n\r\n"), time.Second)
	}
}
