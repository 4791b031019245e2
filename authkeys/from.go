package authkeys

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"strings"
)

// AddrMatch is a from="..." pattern list: comma-separated addresses, CIDRs
// or wildcard patterns over the address text (* and ?), each optionally
// negated with !. An address matches when some pattern matches it and no
// negated one does (OpenSSH's rule).
type AddrMatch struct {
	src   string
	items []addrPattern
}

type addrPattern struct {
	neg    bool
	prefix netip.Prefix // valid for a CIDR or a plain address
	glob   string       // otherwise a wildcard pattern
}

// ParseAddrMatch reads a pattern list. Host names are refused: consoled does
// not resolve names, so a name could never match.
func ParseAddrMatch(list string) (*AddrMatch, error) {
	m := &AddrMatch{src: list}
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		it := addrPattern{}
		if strings.HasPrefix(p, "!") {
			it.neg, p = true, p[1:]
		}
		if p == "" {
			return nil, errors.New("empty pattern")
		}
		switch {
		case strings.Contains(p, "/"):
			pre, err := netip.ParsePrefix(p)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR: %w", p, err)
			}
			if pre.Masked() != pre {
				return nil, fmt.Errorf("%q has host bits set (did you mean %s?)", p, pre.Masked())
			}
			it.prefix = pre
		case strings.ContainsAny(p, "*?"):
			if strings.Trim(p, "0123456789abcdefABCDEF.:*?") != "" {
				return nil, fmt.Errorf("%q is a host name pattern; consoled does not resolve names: use addresses, CIDRs or * ? over addresses", p)
			}
			it.glob = strings.ToLower(p)
		default:
			a, err := netip.ParseAddr(p)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address (consoled does not resolve host names)", p)
			}
			if a.Zone() != "" {
				return nil, fmt.Errorf("%q: an address with a zone cannot be matched; use a CIDR", p)
			}
			it.prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		m.items = append(m.items, it)
	}
	return m, nil
}

// String is the list as written.
func (m *AddrMatch) String() string { return m.src }

// Match reports whether the address (text form, e.g. "127.0.0.2") is
// allowed.
func (m *AddrMatch) Match(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	text := strings.ToLower(a.String())
	matched := false
	for _, it := range m.items {
		var hit bool
		if it.glob != "" {
			hit, _ = path.Match(it.glob, text)
		} else {
			hit = it.prefix.Contains(a)
		}
		if hit && it.neg {
			return false
		}
		matched = matched || hit
	}
	return matched
}
