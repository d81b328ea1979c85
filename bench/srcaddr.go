package bench

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Source-address spreading.
//
// The kernel tells TCP connections apart by (source IP, source port,
// destination IP, destination port). With one source address a client gets
// at most one connection per ephemeral port to a given server ip:port:
// 28,232 with the default ip_local_port_range (32768-60999). On loopback every
// address of 127.0.0.0/8 is local, so the client binds each socket to one of
// several 127.0.0.x sources (with IP_BIND_ADDRESS_NO_PORT, so the port is
// chosen at connect time per 4-tuple) and the ceiling becomes
// sources × ports.

// DefaultPortsPerSource is the ephemeral port count of the default
// ip_local_port_range, used when /proc cannot be read.
const DefaultPortsPerSource = 28232

// sourceFill is the share of a source's ports that auto planning uses, so
// that connections closed by a storm (TIME_WAIT on the client side) never
// leave a source without free ports while the same count reconnects.
const sourceFill = 0.5

// LocalPortCount reads the number of ephemeral ports from
// /proc/sys/net/ipv4/ip_local_port_range.
func LocalPortCount() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return DefaultPortsPerSource
	}
	lo, hi, ok := parsePortRange(string(b))
	if !ok {
		return DefaultPortsPerSource
	}
	return hi - lo + 1
}

func parsePortRange(s string) (lo, hi int, ok bool) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, false
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || lo < 1 || hi < lo || hi > 65535 {
		return 0, 0, false
	}
	return lo, hi, true
}

// PlanSources returns the source addresses for n connections to t.
//
// spec is the -src flag: "auto" (or empty) picks enough 127.0.0.x addresses
// to use at most half of each one's ports; "none" lets the kernel pick (one
// source, the ceiling is portsPerSource); otherwise a comma-separated list of
// addresses and inclusive ranges "127.0.0.2-127.0.0.40". A result of nil
// means "do not bind". An error explains why n connections cannot fit.
func PlanSources(t Target, n, portsPerSource int, spec string) ([]netip.Addr, error) {
	if portsPerSource <= 0 {
		portsPerSource = DefaultPortsPerSource
	}
	spec = strings.TrimSpace(spec)
	if t.Network == "unix" {
		return nil, nil // no ports involved
	}
	if spec == "none" || t.Network == "tcp6" {
		if spec != "none" && spec != "" && spec != "auto" {
			return nil, fmt.Errorf("bench: -src %q: source spreading needs an IPv4 target; ::1 is the only IPv6 loopback address", spec)
		}
		if n > portsPerSource {
			return nil, fmt.Errorf("bench: %d connections to %s from one source address exceed its %d ephemeral ports; use a 127.0.0.x target and -src auto", n, t.Addr, portsPerSource)
		}
		return nil, nil
	}
	if spec == "" || spec == "auto" {
		per := max(1, int(float64(portsPerSource)*sourceFill))
		return autoSources(t.IP, (n+per-1)/per), nil
	}
	addrs, err := parseSourceSpec(spec)
	if err != nil {
		return nil, err
	}
	if capacity := len(addrs) * portsPerSource; n > capacity {
		return nil, fmt.Errorf("bench: -src gives %d source addresses × %d ports = %d connections to %s, fewer than the %d asked for; widen -src or use -src auto", len(addrs), portsPerSource, capacity, t.Addr, n)
	}
	return addrs, nil
}

// autoSources lists k loopback addresses from 127.0.0.2 upwards, skipping
// the target itself and host numbers .0 and .255 of every /24.
func autoSources(target netip.Addr, k int) []netip.Addr {
	k = max(1, k)
	out := make([]netip.Addr, 0, k)
	a := netip.AddrFrom4([4]byte{127, 0, 0, 2})
	for len(out) < k {
		b := a.As4()
		if b[3] != 0 && b[3] != 255 && a != target {
			out = append(out, a)
		}
		a = a.Next()
		if !a.Is4() || a.As4()[0] != 127 {
			break // 127/8 exhausted: 16.7M addresses, unreachable in practice
		}
	}
	return out
}

func parseSourceSpec(spec string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		loS, hiS, isRange := strings.Cut(part, "-")
		lo, err := parseSource(loS)
		if err != nil {
			return nil, err
		}
		hi := lo
		if isRange {
			if hi, err = parseSource(hiS); err != nil {
				return nil, err
			}
		}
		if hi.Less(lo) {
			return nil, fmt.Errorf("bench: -src range %q runs backwards", part)
		}
		for a := lo; ; a = a.Next() {
			out = append(out, a)
			if a == hi || len(out) > 1<<20 {
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bench: -src %q lists no addresses", spec)
	}
	return out, nil
}

func parseSource(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || !a.Is4() || !a.IsLoopback() {
		return netip.Addr{}, fmt.Errorf("bench: -src %q: source addresses must be IPv4 loopback (127.0.0.0/8)", s)
	}
	return a, nil
}

// sourceIndex picks the source address of a process's i-th connection
// among k: process w of a fleet passes offset = the connection count of the
// processes before it, so the fleet as a whole is one round-robin and every
// address carries the same share (±1) of the total.
func sourceIndex(offset, i, k int) int {
	return (offset + i) % k
}
