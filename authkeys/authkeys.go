// Package authkeys reads public keys in OpenSSH authorized_keys format
// together with their options, and decides whether a key may log in from an
// address at a given time.
//
// Options are honoured where they mean something for consoled and refused
// otherwise, never ignored:
//
//   - from="pattern-list": the key works only from a matching address
//     (addresses with * and ? wildcards, CIDRs, ! to exclude; host names are
//     refused: consoled does not resolve names).
//   - expiry-time="YYYYMMDD[HHMM[SS]][Z]": the key stops working then (local
//     time, or UTC with Z).
//   - restrict, no-pty, pty: a key without pty may only run commands and raw
//     sessions, not an interactive terminal.
//   - no-port-forwarding, no-agent-forwarding, no-X11-forwarding,
//     no-user-rc: consoled never does these for anyone, so they hold.
//
// Refused: command=, environment=, permitopen=, permitlisten=, principals=,
// tunnel=, cert-authority, verify-required, no-touch-required (a FIDO key
// must always be touched) and the options that grant
// forwarding or rc files (port-forwarding, agent-forwarding,
// X11-forwarding, user-rc): consoled cannot do what they ask.
package authkeys

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Key is a public key with the options of its authorized_keys line.
type Key struct {
	gossh.PublicKey
	// Where is the line the key came from ("file:line"), for messages;
	// empty for a key given inline.
	Where string
	// From limits the source addresses; nil: any.
	From *AddrMatch
	// Expires is when the key stops working; zero: never.
	Expires time.Time
	// NoPTY: interactive terminals are refused (restrict, no-pty; a
	// certificate without permit-pty).
	NoPTY bool
	// Cert is set for a user certificate: who it says logs in.
	Cert *CertInfo
}

// ErrNotPermitted is wrapped by Permit's errors.
var ErrNotPermitted = errors.New("key not permitted")

// Permit says why the key may not log in from ip at now, or nil.
func (k Key) Permit(ip string, now time.Time) error {
	if !k.Expires.IsZero() && now.After(k.Expires) {
		return fmt.Errorf("%w: expired at %s (expiry-time%s)", ErrNotPermitted, k.Expires.Format(time.RFC3339), k.at())
	}
	if k.From != nil && !k.From.Match(ip) {
		return fmt.Errorf("%w: not from %s (from=%q%s)", ErrNotPermitted, ip, k.From.String(), k.at())
	}
	return nil
}

func (k Key) at() string {
	if k.Where == "" {
		return ""
	}
	return " at " + k.Where
}

// Parse reads one authorized_keys line: [options] keytype base64 [comment].
func Parse(line string) (Key, error) {
	pk, _, opts, rest, err := gossh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return Key{}, err
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return Key{}, errors.New("more than one key on the line")
	}
	k := Key{PublicKey: pk}
	for _, o := range opts {
		if err := k.apply(o); err != nil {
			return Key{}, err
		}
	}
	return k, nil
}

// refused names the options consoled cannot honour, with the reason.
var refused = map[string]string{
	"command":           "consoled runs its own commands; a forced command cannot be honoured",
	"environment":       "consoled sets no environment",
	"permitopen":        "consoled does no port forwarding",
	"permitlisten":      "consoled does no port forwarding",
	"tunnel":            "consoled does no tunnel forwarding",
	"principals":        "certificates log in as their principals (trusted_user_ca_keys)",
	"cert-authority":    "user certificates are trusted with trusted_user_ca_keys",
	"verify-required":   "consoled cannot check FIDO user verification",
	"no-touch-required": "consoled always requires a FIDO key to be touched",
	"port-forwarding":   "consoled never forwards ports",
	"agent-forwarding":  "consoled never forwards the agent",
	"x11-forwarding":    "consoled never forwards X11",
	"user-rc":           "consoled runs no rc file",
}

// apply honours one option ("name" or name="value") or says why it cannot.
func (k *Key) apply(opt string) error {
	name, value, hasValue := strings.Cut(opt, "=")
	lname := strings.ToLower(name) // OpenSSH matches option names case-insensitively
	if hasValue {
		v, err := unquote(value)
		if err != nil {
			return fmt.Errorf("option %s: %w", name, err)
		}
		value = v
	}
	if why, ok := refused[lname]; ok {
		if hasValue {
			name += "="
		}
		return fmt.Errorf("option %s is not supported: %s", name, why)
	}
	needsValue := lname == "from" || lname == "expiry-time"
	if needsValue != hasValue {
		if needsValue {
			return fmt.Errorf("option %s needs a value (%s=\"...\")", name, name)
		}
		return fmt.Errorf("option %s takes no value", name)
	}
	switch lname {
	case "from":
		m, err := ParseAddrMatch(value)
		if err != nil {
			return fmt.Errorf("option from=%q: %w", value, err)
		}
		k.From = m
	case "expiry-time":
		t, err := parseExpiry(value)
		if err != nil {
			return fmt.Errorf("option expiry-time=%q: %w", value, err)
		}
		k.Expires = t
	case "restrict", "no-pty":
		k.NoPTY = true
	case "pty":
		k.NoPTY = false
	case "no-port-forwarding", "no-agent-forwarding", "no-x11-forwarding", "no-user-rc":
		// consoled never does these: the restriction holds for every key.
	default:
		return fmt.Errorf("unknown option %q", name)
	}
	return nil
}

// unquote reads an option value: "..." with \" for a quote.
func unquote(v string) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", errors.New("the value must be in double quotes")
	}
	return strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`), nil
}

// parseExpiry reads YYYYMMDD[HHMM[SS]], local time, or UTC with a Z suffix,
// as OpenSSH does.
func parseExpiry(v string) (time.Time, error) {
	loc := time.Local
	if strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z") {
		loc, v = time.UTC, v[:len(v)-1]
	}
	layouts := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}
	layout, ok := layouts[len(v)]
	if !ok {
		return time.Time{}, errors.New("want YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, optionally ending in Z for UTC")
	}
	t, err := time.ParseInLocation(layout, v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a valid time: %w", err)
	}
	return t, nil
}

// LineError is a refused line of a keys file.
type LineError struct {
	Path string
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err) }

// Unwrap returns the reason.
func (e *LineError) Unwrap() error { return e.Err }

// ReadFile reads an authorized_keys file: one key per line, blank lines and
// # comments allowed. An error names the file and line.
func ReadFile(path string) ([]Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys []Key
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, err := Parse(line)
		if err != nil {
			return nil, &LineError{Path: path, Line: i + 1, Err: err}
		}
		k.Where = fmt.Sprintf("%s:%d", path, i+1)
		keys = append(keys, k)
	}
	return keys, nil
}
