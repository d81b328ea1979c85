package config

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// proxies resolves TRUSTED_PROXY_IP (LOG-5): entries separated by commas
// and/or whitespace, each an IP address, a CIDR range (also with a dotted
// mask, as proxy-addr allows) or loopback / linklocal / uniquelocal.
func (r *resolver) proxies(c *Config) {
	raw := cmp(r.get("TRUSTED_PROXY_IP"), "loopback,uniquelocal")
	for _, entry := range strings.FieldsFunc(raw, func(ch rune) bool { return ch == ',' || jsSpace(ch) }) {
		p, err := proxyPrefixes(entry)
		if err != nil {
			r.failf("TRUSTED_PROXY_IP: invalid entry %q (expected IP addresses, CIDR ranges, loopback, linklocal or uniquelocal, separated by commas)", entry)
			return
		}
		c.TrustedProxies = append(c.TrustedProxies, p...)
	}
}

func proxyPrefixes(entry string) ([]netip.Prefix, error) {
	var names []string
	switch entry {
	case "loopback":
		names = []string{"127.0.0.0/8", "::1/128"}
	case "linklocal":
		names = []string{"169.254.0.0/16", "fe80::/10"}
	case "uniquelocal":
		names = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}
	}
	if names != nil {
		out := make([]netip.Prefix, len(names))
		for i, n := range names {
			out[i] = netip.MustParsePrefix(n)
		}
		return out, nil
	}
	addrText, maskText, hasMask := strings.Cut(entry, "/")
	addr, err := netip.ParseAddr(addrText)
	if err != nil {
		return nil, err
	}
	bits := addr.BitLen()
	if hasMask {
		if bits, err = maskBits(maskText, addr); err != nil {
			return nil, err
		}
	}
	if addr.Is4In6() && bits >= 96 {
		addr, bits = addr.Unmap(), bits-96
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return nil, err
	}
	return []netip.Prefix{p}, nil
}

// maskBits reads "/24" or, for IPv4, "/255.255.255.0".
func maskBits(mask string, addr netip.Addr) (int, error) {
	if n, err := strconv.Atoi(mask); err == nil && n >= 0 && n <= addr.BitLen() {
		return n, nil
	}
	m, err := netip.ParseAddr(mask)
	if err != nil || !addr.Is4() || !m.Is4() {
		return 0, errors.New("invalid mask")
	}
	b := m.As4()
	ones, _ := net.IPv4Mask(b[0], b[1], b[2], b[3]).Size()
	if ones == 0 && b != [4]byte{} {
		return 0, errors.New("non-contiguous mask")
	}
	return ones, nil
}
