package netpoll_test

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

// X-9, LOG-5: SLUICE_MAX_CONNS_PER_IP counts open streams per client
// address, found through X-Forwarded-For from a trusted proxy; past it SSE
// gets 429 and upgrades WS-5's refusal; an ended stream frees its slot, and
// failed requests take none.
func TestMaxConnsPerIP_X9(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *serverConfig) { c.opts.MaxConnsPerIP = 2 })
	const target = "/api/v1/streaming/public?access_token=alice-read-token"
	viaProxy := "X-Forwarded-For: 198.51.100.1, 203.0.113.7" // the client is 203.0.113.7
	tooMany := errorResponse(429, "Too many connections")

	// A refused token holds no slot.
	if got := s.roundTrip(get("/api/v1/streaming/public?access_token=nope", viaProxy)); got != errorResponse(401, "Invalid access token") {
		t.Fatalf("invalid token: %q", got)
	}
	first := s.openStream(target, viaProxy)
	ws := s.dialWS("/api/v1/streaming?stream=public", "Authorization: Bearer alice-read-token", viaProxy)
	if got := s.roundTrip(get(target, viaProxy)); got != tooMany {
		t.Fatalf("third stream from one address:\n got %q\nwant %q", got, tooMany)
	}
	if _, got := s.upgradeHead("GET", "/api/v1/streaming", "Authorization: Bearer alice-read-token", viaProxy); got != upgradeAuthRefusal(429, "Too many connections") {
		t.Fatalf("third upgrade from one address:\n got %q", got)
	}
	// Another client behind the same proxy, and the proxy itself, are not
	// affected; the forged left part of the header is not the client.
	s.openStream(target, "X-Forwarded-For: 203.0.113.8")
	s.openStream(target, "X-Forwarded-For: 203.0.113.7, 198.51.100.1")
	s.openStream(target)

	// Ending a stream frees its slot.
	first.c.Close()
	ws.c.Close()
	waitFor(t, 5*time.Second, "a slot for 203.0.113.7", func() bool {
		c := dial(t, s.Addr)
		c.get(target, viaProxy)
		h := c.head()
		c.c.Close()
		return h == sseHead
	})
}

// LOG-1: with SLUICE_TRUST_REQUEST_ID a trusted proxy's X-Request-Id is
// used when it is a plain token; otherwise a fresh UUID.
func TestTrustRequestID_LOG1(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *serverConfig) { c.opts.TrustRequestID = true })
	for hdr, want := range map[string]string{
		"X-Request-Id: 7c0a7bde6e1b1b2b3e1f7d2a0c9f8e71": "X-Request-Id: 7c0a7bde6e1b1b2b3e1f7d2a0c9f8e71\r\n",
		"X-Request-Id: bad id":                           "",
	} {
		c := dial(t, s.Addr)
		c.get("/api/v1/streaming/health", hdr)
		c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c.c)
		var head strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		got := head.String()
		if want != "" && !strings.Contains(got, want) {
			t.Errorf("%s: head %q lacks %q", hdr, got, want)
		}
		if want == "" && (strings.Contains(got, "bad id") || !reqIDRe.MatchString(got)) {
			t.Errorf("%s: head %q should carry a fresh UUID", hdr, got)
		}
	}
	// Off by default: the header is ignored (LOG-1).
	d := startServer(t)
	c := dial(t, d.Addr)
	c.get("/api/v1/streaming/health", "X-Request-Id: 7c0a7bde6e1b1b2b3e1f7d2a0c9f8e71")
	c.expectResponse(healthResponse) // normalize() insists on a UUIDv4
}
