package authkeys

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// CertInfo is what an OpenSSH user certificate says about who holds it.
type CertInfo struct {
	KeyID      string
	Serial     uint64
	CA         string   // SHA256 fingerprint of the CA that signed it
	Principals []string // the names it is valid for
	Key        string   // SHA256 fingerprint of the holder's own key
}

// Describe names the certificate for logs and the audit log.
func (c *CertInfo) Describe() string {
	return fmt.Sprintf("certificate %q serial %d", c.KeyID, c.Serial)
}

// WithCertificates makes k accept OpenSSH user certificates signed by one
// of cas, and refuse every key and certificate rev revokes (rev may be
// nil). It returns k.
func (k *Keyring) WithCertificates(cas []gossh.PublicKey, rev *Revocations) *Keyring {
	k.cas = map[string]bool{}
	for _, ca := range cas {
		k.cas[string(ca.Marshal())] = true
	}
	k.revoked = rev
	return k
}

// lookupCert decides a user certificate: signed by a trusted CA, a user
// (not host) certificate, valid at now, with principals, no critical
// option consoled cannot honour (force-command), from an address its
// source-address allows, not revoked. The user is the login name if the
// certificate names it, otherwise (ssh console@gw) its first principal.
func (k *Keyring) lookupCert(loginName string, cert *gossh.Certificate, ip string, now time.Time) (string, Key, error) {
	info := &CertInfo{KeyID: cert.KeyId, Serial: cert.Serial, CA: gossh.FingerprintSHA256(cert.SignatureKey),
		Principals: cert.ValidPrincipals, Key: gossh.FingerprintSHA256(cert.Key)}
	refuse := func(format string, a ...any) (string, Key, error) {
		return "", Key{}, fmt.Errorf("%w: %s %s", ErrNotPermitted, info.Describe(), fmt.Sprintf(format, a...))
	}
	switch {
	case cert.CertType != gossh.UserCert:
		return refuse("is a host certificate, not a user certificate")
	case !k.cas[string(cert.SignatureKey.Marshal())]:
		return refuse("is signed by %s, which is not a trusted CA (trusted_user_ca_keys)", info.CA)
	case len(cert.ValidPrincipals) == 0:
		return refuse("names no principal")
	case now.Before(time.Unix(int64(cert.ValidAfter), 0)):
		return refuse("is not valid before %s", time.Unix(int64(cert.ValidAfter), 0).UTC().Format(time.RFC3339))
	case cert.ValidBefore != gossh.CertTimeInfinity && !now.Before(time.Unix(int64(cert.ValidBefore), 0)):
		return refuse("expired at %s", time.Unix(int64(cert.ValidBefore), 0).UTC().Format(time.RFC3339))
	}
	for opt := range cert.CriticalOptions {
		switch opt {
		case "source-address":
		case "force-command":
			return refuse("has force-command: consoled runs its own commands and cannot honour a forced one")
		default:
			return refuse("has critical option %q, which consoled does not know", opt)
		}
	}
	if src, ok := cert.CriticalOptions["source-address"]; ok && !sourceAllows(src, ip) {
		return refuse("is not valid from %s (source-address %q)", ip, src)
	}
	user := cert.ValidPrincipals[0]
	for _, p := range cert.ValidPrincipals {
		if p == loginName {
			user = p
		}
	}
	if user != loginName && k.users[loginName] {
		return refuse("is not valid for %s (principals %s)", loginName, strings.Join(cert.ValidPrincipals, ","))
	}
	checker := gossh.CertChecker{SupportedCriticalOptions: []string{"source-address"}, Clock: func() time.Time { return now }}
	if err := checker.CheckCert(user, cert); err != nil {
		return refuse("does not verify: %v", err)
	}
	if why := k.revoked.Check(cert); why != "" {
		_, key, err := refuse("is revoked (%s)", why)
		return "", key, fmt.Errorf("%w%w", err, noText{ErrRevoked})
	}
	key := Key{PublicKey: cert, Cert: info, NoPTY: !hasExt(cert, "permit-pty")}
	if cert.ValidBefore != gossh.CertTimeInfinity {
		key.Expires = time.Unix(int64(cert.ValidBefore), 0)
	}
	return user, key, nil
}

func hasExt(cert *gossh.Certificate, name string) bool {
	_, ok := cert.Extensions[name]
	return ok
}

// sourceAllows reports whether ip is in a certificate's source-address
// list (comma-separated addresses and CIDRs).
func sourceAllows(list, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil && p.Contains(addr) {
			return true
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Unmap() == addr {
			return true
		}
	}
	return false
}

// ReadCAKeys reads a trusted_user_ca_keys_file: one public key per line,
// blank lines and # comments allowed. An error names the file and line.
func ReadCAKeys(path string, data []byte) ([]gossh.PublicKey, error) {
	var keys []gossh.PublicKey
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, err := ParseCAKey(string(line))
		if err != nil {
			return nil, &LineError{Path: path, Line: i + 1, Err: err}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// ParseCAKey reads a CA's public key ("ssh-ed25519 AAAA... comment"); a
// certificate or a line with options is not a CA key.
func ParseCAKey(line string) (gossh.PublicKey, error) {
	k, _, opts, rest, err := gossh.ParseAuthorizedKey([]byte(line))
	switch {
	case err != nil:
		return nil, err
	case len(opts) > 0:
		return nil, fmt.Errorf("a CA key takes no options (%s)", strings.Join(opts, ","))
	case len(bytes.TrimSpace(rest)) > 0:
		return nil, fmt.Errorf("more than one key on the line")
	}
	if _, isCert := k.(*gossh.Certificate); isCert {
		return nil, fmt.Errorf("a certificate, not a CA's public key")
	}
	return k, nil
}

// noText wraps an error for errors.Is without adding to the message.
type noText struct{ err error }

func (n noText) Error() string { return "" }
func (n noText) Unwrap() error { return n.err }
