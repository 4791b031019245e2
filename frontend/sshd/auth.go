package sshd

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"consoled/frontend"
)

// Keyring maps public keys to the users who own them. Only public-key
// authentication exists: there is no password, keyboard-interactive or
// "none" login.
type Keyring struct {
	byKey map[string]string // ssh wire form of the key -> user
	users map[string]bool
}

// NewKeyring builds a keyring from user name -> keys. A key listed for two
// users is an error: it could not say who is typing.
func NewKeyring(users map[string][]gossh.PublicKey) (*Keyring, error) {
	k := &Keyring{byKey: map[string]string{}, users: map[string]bool{}}
	for name, keys := range users {
		k.users[name] = true
		for _, key := range keys {
			w := string(key.Marshal())
			if other, dup := k.byKey[w]; dup && other != name {
				return nil, fmt.Errorf("key %s is listed for both %s and %s", gossh.FingerprintSHA256(key), other, name)
			}
			k.byKey[w] = name
		}
	}
	return k, nil
}

// Lookup returns the user a key belongs to. loginName is the name given to
// ssh (user@host): if it is a configured user, the key must be that user's;
// any other login name ("console") identifies the person by key alone.
func (k *Keyring) Lookup(loginName string, key gossh.PublicKey) (string, bool) {
	user, ok := k.byKey[string(key.Marshal())]
	if !ok {
		return "", false
	}
	if k.users[loginName] && loginName != user {
		return "", false
	}
	return user, true
}

type ctxKey string

const userKey ctxKey = "consoled-user"

// publicKeyHandler authenticates by key and remembers who it was.
func (s *Server) publicKeyHandler(ctx ssh.Context, key ssh.PublicKey) bool {
	if s.limiter.blocked(ctx.RemoteAddr()) {
		return false // one connection trying key after key
	}
	user, ok := s.keys.Load().Lookup(ctx.User(), key)
	if !ok {
		s.authFailed.Add(1)
		s.limiter.failed(ctx.RemoteAddr())
		fp := gossh.FingerprintSHA256(key)
		s.log.Info("ssh auth refused", "login", ctx.User(), "from", ctx.RemoteAddr().String(), "key", fp)
		s.core.Record(frontend.Identity{User: ctx.User(), Key: fp, From: ctx.RemoteAddr().String(), Via: "ssh"},
			"", "login", "", "refused: unknown key")
		return false
	}
	s.authOK.Add(1)
	ctx.SetValue(userKey, user)
	return true
}

// AuthCounts reports successful and refused key authentications.
func (s *Server) AuthCounts() (ok, failed uint64) { return s.authOK.Load(), s.authFailed.Load() }

// LoadOrCreateHostKey reads an OpenSSH private key from path, or creates an
// ed25519 key there (mode 0600, directory 0700) when the file is missing.
func LoadOrCreateHostKey(path string) (gossh.Signer, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		signer, err := gossh.ParsePrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("reading host key %s: %w", path, err)
		}
		return signer, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading host key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "consoled host key")
	if err != nil {
		return nil, fmt.Errorf("encoding host key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating host key directory: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, fmt.Errorf("writing host key: %w", err)
	}
	return gossh.NewSignerFromKey(priv)
}
