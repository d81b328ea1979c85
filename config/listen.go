package config

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Listen is where the server accepts connections.
type Listen struct {
	// Network is "tcp" or "unix".
	Network string
	// Addr is host:port for "tcp" (an IPv6 host in brackets; "[::]:4000"
	// listens on IPv6 and IPv4, ":4000" on every interface) and a file path
	// for "unix". The server removes a stale socket file first (CFG-7) and
	// sets the file's mode to 0666 after listening (§2.2 SOCKET).
	Addr string
}

// listen applies §2.2 PORT/BIND/SOCKET and CFG-5. A -port or -bind flag
// beats a SOCKET from the environment; a -socket flag beats everything.
func (r *resolver) listen(c *Config) {
	socket := r.get("SOCKET")
	if (r.in.flagged["PORT"] || r.in.flagged["BIND"]) && !r.in.flagged["SOCKET"] {
		socket = ""
	}
	if socket != "" {
		c.Listen = Listen{Network: "unix", Addr: socket}
		return
	}
	port := 4000
	if raw := r.get("PORT"); raw != "" {
		t := strings.TrimFunc(raw, jsSpace)
		switch {
		case t == "": // JavaScript would read 0 (any port); the default is kinder
		case isDecimal(t):
			n, err := strconv.Atoi(t)
			if err != nil || n < 0 || n > 65535 {
				r.failf("PORT: %s is out of range (expected 0-65535)", t)
				return
			}
			port = n
		case looksNumeric(t):
			r.failf("PORT: %q is not a port number (expected a whole number 0-65535)", raw)
			return
		default: // CFG-5
			r.warnf("PORT %q is not a number: listening on it as a Unix socket path (set SOCKET instead; Mastodon's own server refuses this)", raw)
			c.Listen = Listen{Network: "unix", Addr: raw}
			return
		}
	}
	bind, set := r.lookup("BIND") // `??` in Node: set but empty is kept
	if !set {
		bind = "127.0.0.1"
	}
	if len(bind) >= 2 && bind[0] == '[' && bind[len(bind)-1] == ']' {
		bind = bind[1 : len(bind)-1]
	}
	if bind == "" {
		r.warnf("BIND is set but empty: listening on every interface, as Mastodon's server does (set BIND=127.0.0.1 to listen locally)")
	} else if !validHost(bind) {
		r.failf("BIND: %q is not an address (expected an IP address such as 127.0.0.1 or ::, or a host name; the port goes in PORT)", bind)
		return
	}
	c.Listen = Listen{Network: "tcp", Addr: net.JoinHostPort(bind, strconv.Itoa(port))}
}

// looksNumeric approximates JavaScript's Number(s) succeeding on a trimmed s
// that is not a plain integer (1e3, 4000.5, 0x1f, Infinity): such a PORT is
// a mistake, not the socket path of CFG-5.
func looksNumeric(s string) bool {
	switch s {
	case "Infinity", "+Infinity", "-Infinity":
		return true
	}
	if len(s) > 2 && s[0] == '0' && strings.ContainsRune("xXoObB", rune(s[1])) {
		_, err := strconv.ParseInt(s, 0, 64)
		return err == nil
	}
	if strings.ContainsAny(s, "iInN") { // Go's inf and NaN are not JavaScript's
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for _, b := range []byte(h) {
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}
