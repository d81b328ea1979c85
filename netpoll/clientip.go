package netpoll

import (
	"bytes"
	"hash/maphash"
	"net"
	"net/netip"
	"sync"
)

// clientIP finds the client's address as LOG-5 says (Express's proxy-addr):
// start from the socket peer and walk X-Forwarded-For from right to left
// while the address in hand is a trusted proxy. An entry that is not an IP
// address stops the walk at the proxy that sent it. Pure; any goroutine.
func clientIP(peer netip.Addr, xff []byte, trusted []netip.Prefix) netip.Addr {
	addr := peer
	for len(xff) > 0 && isTrusted(addr, trusted) {
		i := bytes.LastIndexByte(xff, ',')
		entry := bytes.TrimSpace(xff[i+1:])
		if i < 0 {
			xff = nil
		} else {
			xff = xff[:i]
		}
		next, err := netip.ParseAddr(string(entry))
		if err != nil {
			break
		}
		addr = next.Unmap()
	}
	return addr
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr is the socket peer's address; a Unix-socket peer (nginx on the
// same host) counts as loopback.
func peerAddr(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ap := ta.AddrPort(); ap.IsValid() {
			return ap.Addr().Unmap()
		}
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// ipLimiter counts open streams per client address across all loops
// (SLUICE_MAX_CONNS_PER_IP, X-9). Loops take a shard lock for a map
// operation only, never while doing I/O.
type ipLimiter struct {
	max    int32
	seed   maphash.Seed
	shards [64]ipShard
}

type ipShard struct {
	mu sync.Mutex
	m  map[netip.Addr]*ipCount
	_  [40]byte // keep shards' locks on separate cache lines
}

// ipCount is one address's open streams; a connection holds a pointer to
// its count so that releasing needs no lookup.
type ipCount struct {
	addr  netip.Addr
	n     int32
	shard *ipShard
}

func newIPLimiter(max int) *ipLimiter {
	if max <= 0 {
		return nil
	}
	return &ipLimiter{max: int32(max), seed: maphash.MakeSeed()}
}

// acquire counts one more stream for a, or returns nil when a already has
// the maximum.
func (l *ipLimiter) acquire(a netip.Addr) *ipCount {
	b := a.As16()
	sh := &l.shards[maphash.Bytes(l.seed, b[:])%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c := sh.m[a]
	if c == nil {
		if sh.m == nil {
			sh.m = make(map[netip.Addr]*ipCount)
		}
		c = &ipCount{addr: a, shard: sh}
		sh.m[a] = c
	}
	if c.n >= l.max {
		return nil
	}
	c.n++
	return c
}

// release undoes one acquire.
func (c *ipCount) release() {
	sh := c.shard
	sh.mu.Lock()
	if c.n--; c.n <= 0 {
		delete(sh.m, c.addr)
	}
	sh.mu.Unlock()
}

// limitIP counts c's stream against its client address and reports whether
// it may proceed. Runs on the loop while the request bytes are valid.
func (l *loop) limitIP(c *conn, xff []byte) bool {
	lim := l.s.ipLimit
	if lim == nil || c.ip != nil {
		return true
	}
	addr := clientIP(peerAddr(c.gc.RemoteAddr()), xff, l.s.opts.TrustedProxies)
	c.ip = lim.acquire(addr)
	if c.ip == nil {
		l.s.log.Info("refusing stream: too many connections from one address", "ip", addr.String(), "req.id", string(c.requestID()))
		return false
	}
	return true
}

// releaseIP gives back c's count, if it holds one. Idempotent.
func (c *conn) releaseIP() {
	if c.ip != nil {
		c.ip.release()
		c.ip = nil
	}
}
