package authkeys

import (
	"errors"
	"fmt"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Keyring maps public keys to the users who own them, with each key's
// options. A key may be listed more than once for its user (say, from two
// networks): it is accepted if one of its lines permits the login.
type Keyring struct {
	byKey   map[string]entry // ssh wire form of the key -> owner and lines
	users   map[string]bool
	cas     map[string]bool // wire form of trusted user CAs (WithCertificates)
	revoked *Revocations
}

type entry struct {
	user  string
	lines []Key
}

// NewKeyring builds a keyring from user name -> keys. A key listed for two
// users is an error: it could not say who is typing.
func NewKeyring(users map[string][]Key) (*Keyring, error) {
	k := &Keyring{byKey: map[string]entry{}, users: map[string]bool{}}
	for name, keys := range users {
		k.users[name] = true
		for _, key := range keys {
			w := string(key.Marshal())
			e, dup := k.byKey[w]
			if dup && e.user != name {
				return nil, fmt.Errorf("key %s is listed for both %s and %s", gossh.FingerprintSHA256(key), e.user, name)
			}
			e.user = name
			e.lines = append(e.lines, key)
			k.byKey[w] = e
		}
	}
	return k, nil
}

// ErrUnknownKey is returned by Lookup for a key that is not in the keyring
// (or is another user's than the login name asks for).
var ErrUnknownKey = errors.New("unknown key")

// ErrRevoked is wrapped (with ErrNotPermitted) by Lookup's error for a key
// or certificate the revoked_keys_file revokes.
var ErrRevoked = errors.New("revoked")

// Lookup returns the user a key belongs to and the line that permits it to
// log in from ip at now. loginName is the name given to ssh (user@host): if
// it is a configured user, the key must be that user's; any other login
// name ("console") identifies the person by key alone. The error is
// ErrUnknownKey, or wraps ErrNotPermitted with the user still returned.
// A user certificate (see WithCertificates) logs in as one of its
// principals; its Key has Cert set.
func (k *Keyring) Lookup(loginName string, key gossh.PublicKey, ip string, now time.Time) (string, Key, error) {
	if cert, ok := key.(*gossh.Certificate); ok && k.cas != nil {
		return k.lookupCert(loginName, cert, ip, now)
	}
	e, ok := k.byKey[string(key.Marshal())]
	if !ok || (k.users[loginName] && loginName != e.user) {
		return "", Key{}, ErrUnknownKey
	}
	if why := k.revoked.Check(key); why != "" {
		return e.user, Key{}, fmt.Errorf("%w: %w (%s, revoked_keys_file)", ErrNotPermitted, ErrRevoked, why)
	}
	var first error
	for _, line := range e.lines {
		err := line.Permit(ip, now)
		if err == nil {
			return e.user, line, nil
		}
		if first == nil {
			first = err
		}
	}
	return e.user, Key{}, first
}
