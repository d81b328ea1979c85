package bench

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// Target is the server under test. sluice-bench only talks to loopback
// addresses and unix sockets: ParseTarget refuses anything else, so a typo
// cannot turn a load test into an attack on another machine.
type Target struct {
	Network string     `json:"network"` // "tcp4", "tcp6" or "unix"
	Addr    string     `json:"addr"`    // "127.0.0.1:4000", "[::1]:4000" or a socket path
	IP      netip.Addr `json:"-"`       // TCP only
	Port    int        `json:"-"`       // TCP only
}

// String is the form accepted back by ParseTarget.
func (t Target) String() string {
	if t.Network == "unix" {
		return "unix:" + t.Addr
	}
	return t.Addr
}

// HostHeader is the Host header value for requests to t.
func (t Target) HostHeader() string {
	if t.Network == "unix" {
		return "localhost"
	}
	return t.Addr
}

// ParseTarget accepts "127.0.0.1:4000", "localhost:4000", "[::1]:4000",
// "http://127.0.0.1:4000" (also https/ws/wss, path ignored), "unix:/path" or
// an absolute socket path. Hosts other than loopback IPs and "localhost"
// are refused without any DNS lookup.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Target{}, fmt.Errorf("bench: empty target; give one like 127.0.0.1:4000 or unix:/run/sluice.sock")
	}
	if p, ok := strings.CutPrefix(s, "unix:"); ok {
		return unixTarget(p)
	}
	if strings.HasPrefix(s, "/") {
		return unixTarget(s)
	}
	for _, scheme := range []string{"http://", "https://", "ws://", "wss://"} {
		if rest, ok := strings.CutPrefix(s, scheme); ok {
			s, _, _ = strings.Cut(rest, "/")
			break
		}
	}
	ip, port, err := loopbackHostPort(s)
	if err != nil {
		return Target{}, err
	}
	t := Target{Network: "tcp4", IP: ip, Port: port}
	if ip.Is6() {
		t.Network = "tcp6"
	}
	t.Addr = netip.AddrPortFrom(ip, uint16(port)).String()
	return t, nil
}

func unixTarget(path string) (Target, error) {
	if path == "" || !strings.HasPrefix(path, "/") {
		return Target{}, fmt.Errorf("bench: unix socket target %q must be an absolute path", path)
	}
	if len(path) >= 108 {
		return Target{}, fmt.Errorf("bench: unix socket path is %d bytes; the kernel allows at most 107", len(path))
	}
	return Target{Network: "unix", Addr: path}, nil
}

// CheckLoopback validates a host:port (such as the Redis address) and
// returns it normalized, refusing anything that is not loopback.
func CheckLoopback(hostport string) (string, error) {
	hostport = strings.TrimPrefix(strings.TrimSpace(hostport), "redis://")
	hostport, _, _ = strings.Cut(hostport, "/")
	ip, port, err := loopbackHostPort(hostport)
	if err != nil {
		return "", err
	}
	return netip.AddrPortFrom(ip, uint16(port)).String(), nil
}

func loopbackHostPort(s string) (netip.Addr, int, error) {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("bench: address %q: %v (expected host:port)", s, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return netip.Addr{}, 0, fmt.Errorf("bench: address %q: invalid port %q (expected 1-65535)", s, portStr)
	}
	if strings.EqualFold(host, "localhost") {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), port, nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("bench: address %q: host must be a loopback IP literal or localhost (no DNS lookups)", s)
	}
	ip = ip.Unmap()
	if !ip.IsLoopback() || ip.Zone() != "" {
		return netip.Addr{}, 0, fmt.Errorf("bench: refusing %s: sluice-bench only sends traffic to loopback (127.0.0.0/8, ::1) or unix sockets", s)
	}
	return ip, port, nil
}

// sockaddr is the kernel form of the target.
func (t Target) sockaddr() syscall.Sockaddr {
	switch t.Network {
	case "unix":
		return &syscall.SockaddrUnix{Name: t.Addr}
	case "tcp6":
		return &syscall.SockaddrInet6{Port: t.Port, Addr: t.IP.As16()}
	default:
		return &syscall.SockaddrInet4{Port: t.Port, Addr: t.IP.As4()}
	}
}

// family is the socket domain for t.
func (t Target) family() int {
	switch t.Network {
	case "unix":
		return syscall.AF_UNIX
	case "tcp6":
		return syscall.AF_INET6
	default:
		return syscall.AF_INET
	}
}
