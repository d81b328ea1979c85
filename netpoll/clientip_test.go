package netpoll

import (
	"net/netip"
	"testing"
)

// LOG-5: the client address walks X-Forwarded-For from the right while the
// address in hand is trusted (Express's proxy-addr).
func TestClientIP_LOG5(t *testing.T) {
	trusted := []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
	}
	a := netip.MustParseAddr
	for _, tc := range []struct {
		peer, xff, want string
	}{
		{"127.0.0.1", "", "127.0.0.1"},
		{"127.0.0.1", "203.0.113.7", "203.0.113.7"},
		{"127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"}, // the client could forge the left
		{"127.0.0.1", "198.51.100.1, 10.1.2.3", "198.51.100.1"},   // through a second trusted proxy
		{"127.0.0.1", "10.9.9.9,10.1.2.3", "10.9.9.9"},            // all trusted: the leftmost
		{"203.0.113.9", "198.51.100.1", "203.0.113.9"},            // an untrusted peer's header is ignored
		{"127.0.0.1", "garbage, 203.0.113.7", "203.0.113.7"},      // stops at the first untrusted
		{"127.0.0.1", "203.0.113.7, garbage", "127.0.0.1"},        // not an address: the proxy that sent it
		{"127.0.0.1", " 2001:db8::1 ", "2001:db8::1"},             // IPv6, spaces trimmed
		{"::1", "::ffff:203.0.113.7", "203.0.113.7"},              // IPv4-mapped is unmapped
		{"127.0.0.1", "203.0.113.7,", "127.0.0.1"},                // empty entry
		{"127.0.0.1", "203.0.113.7:4711", "127.0.0.1"},            // a port is not an address
	} {
		if got := clientIP(a(tc.peer), []byte(tc.xff), trusted); got != a(tc.want) {
			t.Errorf("peer %s, X-Forwarded-For %q: got %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
}

// counts per address, released counts free the slot, and addresses
// do not share counts.
func TestIPLimiter_X9(t *testing.T) {
	lim := newIPLimiter(2)
	x, y := netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("2001:db8::1")
	c1, c2 := lim.acquire(x), lim.acquire(x)
	if c1 == nil || c2 == nil {
		t.Fatal("first two acquires refused")
	}
	if lim.acquire(x) != nil {
		t.Fatal("third acquire for the same address allowed")
	}
	if lim.acquire(y) == nil {
		t.Fatal("another address refused")
	}
	c1.release()
	c3 := lim.acquire(x)
	if c3 == nil {
		t.Fatal("acquire after a release refused")
	}
	c2.release()
	c3.release()
	sh := c3.shard
	if _, ok := sh.m[x]; ok {
		t.Error("an address with no streams stays in the map")
	}
	if newIPLimiter(0) != nil {
		t.Error("0 is unlimited: no limiter")
	}
}

func TestValidRequestID_LOG1(t *testing.T) {
	for id, want := range map[string]bool{
		"7c0a7bde6e1b1b2b3e1f7d2a0c9f8e71":      true, // nginx $request_id
		"0f8fad5b-d9cb-469f-a165-70867728950e":  true,
		"":                                      false,
		"a b":                                   false,
		"a\"b":                                  false,
		"0123456789012345678901234567890123456": false, // 37
	} {
		if got := validRequestID([]byte(id)); got != want {
			t.Errorf("validRequestID(%q) = %v", id, got)
		}
	}
}
