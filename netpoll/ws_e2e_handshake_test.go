package netpoll_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/sluice/sluice/internal/testenv"
)

// End-to-end tests of the WebSocket handshake (§11.1, §11.2): the exact
// bytes of the 101, of the authentication refusals and of the handshake
// refusals, and the order of the checks (WS-1).

// upgradeAuthRefusal is WS-5's hand-written refusal.
func upgradeAuthRefusal(status int, message string) string {
	text := map[int]string{401: "Unauthorized", 429: "Too Many Requests", 500: "Internal Server Error"}[status]
	return "HTTP/1.1 " + strconv.Itoa(status) + " " + text + "\r\n" +
		"Connection: close\r\n" +
		"Content-Type: text/plain\r\n" +
		"Content-Length: 0\r\n" +
		"X-Request-Id: <uuid>\r\n" +
		"X-Error-Message: " + message + "\r\n" +
		"\r\n"
}

// upgradeRefusal is WS-2's answer of the ws library (abortHandshake): the
// message is the body; extra is one more header line or "".
func upgradeRefusal(status int, message, extra string) string {
	text := map[int]string{400: "Bad Request", 405: "Method Not Allowed"}[status]
	h := "HTTP/1.1 " + strconv.Itoa(status) + " " + text + "\r\n" +
		"Connection: close\r\n" +
		"Content-Type: text/html\r\n" +
		"Content-Length: " + strconv.Itoa(len(message)) + "\r\n"
	if extra != "" {
		h += extra + "\r\n"
	}
	return h + "\r\n" + message
}

// WS-3, AUTH-1: the 101 byte for byte, with the Sec-WebSocket-Protocol line
// exactly when a subprotocol was offered, echoing the first one; the token
// from each of its three sources.
func TestWebSocketHandshake_WS3(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, tc := range []struct {
		name, target string
		headers      []string
		protocol     string
	}{
		{"authorization_bearer", "/api/v1/streaming", []string{"Authorization: Bearer alice-read-token"}, ""},
		{"authorization_bare", "/api/v1/streaming", []string{"Authorization: alice-read-token"}, ""},
		{"access_token", "/api/v1/streaming?access_token=alice-read-token", nil, ""},
		{"token_as_subprotocol", "/api/v1/streaming", []string{"Sec-WebSocket-Protocol: alice-read-token"}, "alice-read-token"},
		{"query_token_and_protocols", "/api/v1/streaming?access_token=alice-read-token", []string{"Sec-WebSocket-Protocol: chat, superchat"}, "chat"},
		{"any_path", "/whatever/path?x=1", []string{"Sec-WebSocket-Protocol: alice-read-token"}, "alice-read-token"}, // WS-1
		{"upgrade_case", "/api/v1/streaming?access_token=alice-read-token", []string{"Upgrade: WebSocket"}, ""},
		{"version_8", "/api/v1/streaming?access_token=alice-read-token", []string{"Sec-WebSocket-Version: 8"}, ""}, // WS-2: 13 or 8
		{"protocol_spaces", "/api/v1/streaming?access_token=alice-read-token", []string{"Sec-WebSocket-Protocol:  a ,\tb"}, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s.with(t)
			c, got := s.upgradeHead("GET", tc.target, append([]string{"Connection: keep-alive, Upgrade"}, tc.headers...)...)
			if want := switchingProtocols(tc.protocol); got != want {
				t.Fatalf("101:\n got %q\nwant %q", got, want)
			}
			// The socket works: a message gets its answer.
			w := &wsClient{c}
			w.sync()
		})
	}
}

// WS-5, WS-1: authentication runs first and refuses with the hand-written
// 401, then closes; a broken handshake without a valid token gets the
// authentication answer, not the handshake one.
func TestWebSocketAuthRefusals_WS5(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	missing, invalid := upgradeAuthRefusal(401, "Missing access token"), upgradeAuthRefusal(401, "Invalid access token")
	for _, tc := range []struct {
		name, method, target string
		headers              []string
		want                 string
	}{
		{"no_token", "GET", "/api/v1/streaming", nil, missing},
		{"empty_protocol", "GET", "/api/v1/streaming", []string{"Sec-WebSocket-Protocol: "}, missing},
		{"empty_access_token", "GET", "/api/v1/streaming?access_token=", nil, missing},
		{"unknown_token", "GET", "/api/v1/streaming?access_token=nope", nil, invalid},
		{"protocol_list_is_one_token", "GET", "/api/v1/streaming", []string{"Sec-WebSocket-Protocol: alice-read-token, chat"}, invalid}, // AUTH-1: unsplit
		{"lowercase_bearer", "GET", "/api/v1/streaming", []string{"Authorization: bearer alice-read-token"}, invalid},
		{"authorization_first", "GET", "/api/v1/streaming?access_token=alice-read-token", []string{"Authorization: Bearer nope"}, invalid}, // AUTH-2
		{"revoked", "GET", "/api/v1/streaming?access_token=frank-revoked-token", nil, invalid},
		{"disabled", "GET", "/api/v1/streaming?access_token=dave-disabled-token", nil, invalid},
		{"suspended", "GET", "/api/v1/streaming?access_token=erin-suspended-token", nil, invalid},
		// WS-1: authentication before the handshake checks.
		{"post_without_token", "POST", "/api/v1/streaming", nil, missing},
		{"bad_key_without_token", "GET", "/api/v1/streaming", []string{"Sec-WebSocket-Key: short"}, missing},
		{"bad_version_bad_token", "GET", "/api/v1/streaming?access_token=nope", []string{"Sec-WebSocket-Version: 7"}, invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s.with(t)
			c, got := s.upgradeHead(tc.method, tc.target, tc.headers...)
			if got != tc.want {
				t.Fatalf("refusal:\n got %q\nwant %q", got, tc.want)
			}
			if rest := c.closedByServer(2 * time.Second); rest != "" {
				t.Fatalf("bytes after the refusal: %q", rest)
			}
		})
	}
}

// WS-5, LIFE-2: with PostgreSQL down an upgrade is refused with 500, in
// WS-5's form; open sockets keep streaming.
func TestWebSocketPostgresDown_WS5(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgres(t)
	s := startServer(t, func(c *serverConfig) { c.pg = pg })
	w := s.dialWSAs("alice-read-token", "?stream=public")
	w.sync()
	s.waitSubscribed("timeline:public")
	pg.Stop()
	for _, token := range []string{"alice-read-token", "nope"} {
		c, got := s.upgradeHead("GET", "/api/v1/streaming?access_token="+token)
		if want := upgradeAuthRefusal(500, "An unexpected error occurred"); got != want {
			t.Errorf("token %s with PostgreSQL down:\n got %q\nwant %q", token, got, want)
		}
		c.closedByServer(2 * time.Second)
	}
	s.publish("timeline:public", `{"event":"delete","payload":"7"}`)
	w.expectText(wsEvent(`["public"]`, "delete", `"7"`))
}

// WS-2: after authentication, the handshake checks in the ws library's
// order, each refused with its exact response, then the connection closes.
func TestWebSocketHandshakeRefusals_WS2(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const tok = "/api/v1/streaming?access_token=alice-read-token"
	key := upgradeRefusal(400, "Missing or invalid Sec-WebSocket-Key header", "")
	version := upgradeRefusal(400, "Missing or invalid Sec-WebSocket-Version header", "Sec-WebSocket-Version: 13, 8")
	protocol := upgradeRefusal(400, "Invalid Sec-WebSocket-Protocol header", "")
	for _, tc := range []struct {
		name, method, target string
		headers              []string // replace the standard ones of the same name
		want                 string
	}{
		{"post", "POST", tok, nil, upgradeRefusal(405, "Invalid HTTP method", "")},
		{"head", "HEAD", tok, nil, upgradeRefusal(405, "Invalid HTTP method", "")},
		{"post_bad_key", "POST", tok, []string{"Sec-WebSocket-Key: x"}, upgradeRefusal(405, "Invalid HTTP method", "")}, // method first
		{"upgrade_h2c", "GET", tok, []string{"Upgrade: h2c"}, upgradeRefusal(400, "Invalid Upgrade header", "")},
		{"upgrade_h2c_bad_key", "GET", tok, []string{"Upgrade: h2c", "Sec-WebSocket-Key: x"}, upgradeRefusal(400, "Invalid Upgrade header", "")},
		{"key_short", "GET", tok, []string{"Sec-WebSocket-Key: dGhlIHNhbXBsZQ=="}, key},
		{"key_not_base64", "GET", tok, []string{"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!!"}, key},
		{"key_missing", "GET", tok, []string{"Sec-WebSocket-Key:"}, key},
		{"key_bad_version_bad", "GET", tok, []string{"Sec-WebSocket-Key: x", "Sec-WebSocket-Version: 7"}, key}, // key before version
		{"version_7", "GET", tok, []string{"Sec-WebSocket-Version: 7"}, version},
		{"version_empty", "GET", tok, []string{"Sec-WebSocket-Version:"}, version},
		{"version_13a", "GET", tok, []string{"Sec-WebSocket-Version: 13a"}, version},
		{"version_bad_protocol_bad", "GET", tok, []string{"Sec-WebSocket-Version: 12", "Sec-WebSocket-Protocol: a,,b"}, version},
		{"protocol_empty_element", "GET", tok, []string{"Sec-WebSocket-Protocol: a,,b"}, protocol},
		{"protocol_duplicate", "GET", tok, []string{"Sec-WebSocket-Protocol: chat, chat"}, protocol},
		{"protocol_not_token", "GET", tok, []string{"Sec-WebSocket-Protocol: a b"}, protocol},
		{"protocol_empty", "GET", tok, []string{"Sec-WebSocket-Protocol: "}, protocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s.with(t)
			c, got := s.upgradeHead(tc.method, tc.target, tc.headers...)
			got += c.readRaw(len(tc.want)-len(got), 2*time.Second)
			if got != tc.want {
				t.Fatalf("refusal:\n got %q\nwant %q", got, tc.want)
			}
			if rest := c.closedByServer(2 * time.Second); rest != "" {
				t.Fatalf("bytes after the refusal: %q", rest)
			}
		})
	}
}

// WS-8 with frames pipelined behind the upgrade request: a subscribe sent in
// the same packet as the handshake applies after the initial subscription.
func TestWebSocketFramesWithUpgrade_WS8(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := dial(t, s.Addr)
	c.send(wsRequest("GET", "/api/v1/streaming?stream=public:local", "Sec-WebSocket-Protocol: alice-read-token") +
		string(clientFrame(0x81, []byte(`{"type":"subscribe","stream":"hashtag","tag":"Sunset"}`), false)) +
		string(clientFrame(0x81, []byte(syncMessage), false)))
	if got, want := c.head(), switchingProtocols("alice-read-token"); got != want {
		t.Fatalf("101:\n got %q\nwant %q", got, want)
	}
	w := &wsClient{c}
	w.expectText(syncReply)
	s.waitSubscribed("timeline:public:local")
	s.waitSubscribed("timeline:hashtag:sunset")
	s.publish("timeline:hashtag:sunset", `{"event":"delete","payload":"1"}`)
	s.publish("timeline:public:local", `{"event":"delete","payload":"2"}`)
	w.expectText(wsEvent(`["hashtag","Sunset"]`, "delete", `"1"`))
	w.expectText(wsEvent(`["public:local"]`, "delete", `"2"`))
}
