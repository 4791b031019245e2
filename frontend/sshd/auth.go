package sshd

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"consoled/authkeys"
	"consoled/frontend"
)

type ctxKey string

const (
	userKey      ctxKey = "consoled-user"
	authStateKey ctxKey = "consoled-auth" // *connState
)

// maxKeysPerConn is how many keys one connection may offer before it is
// disconnected: more than an ssh-agent usually holds (OpenSSH's own
// MaxAuthTries of 6 locks out an agent with 8 keys).
const maxKeysPerConn = 30

// connState is what one connection did before and during authentication.
// A connection that asks to log in and ends without doing so counts once
// against its source address and is audited once, whatever number of keys
// it offered; one that never asks (a port probe) is neither.
type connState struct {
	ctx     ssh.Context
	from    string // source address, without the port
	remote  string // address:port
	blocked string // non-empty: the address is blocked, and why (for the banner)

	mu      sync.Mutex
	login   string   // the name given to ssh
	refused []string // "fingerprint: reason", the first few refused keys
	nKeys   int      // keys refused
	tried   bool     // the client asked to authenticate
	authed  bool     // a key was verified: the connection logged in
	key     authkeys.Key
	fwd     bool // a gateway forwarding for someone: key is the gateway's
	ended   bool
}

// trackedConn tells the server when a connection closes.
type trackedConn struct {
	net.Conn
	s    *Server
	st   *connState
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.s.connEnded(c.st) })
	return c.Conn.Close()
}

// admit starts tracking a connection. One from a blocked address is still
// let through the SSH handshake so that it can be told why it is refused
// (a banner); none of its keys is looked at.
func (s *Server) admit(ctx ssh.Context, conn net.Conn) net.Conn {
	st := &connState{ctx: ctx, from: host(conn.RemoteAddr()), remote: conn.RemoteAddr().String()}
	if until, n := s.limiter.admit(st.from); n > 0 {
		st.blocked = fmt.Sprintf("consoled: too many failed logins from %s (%d within %v); refused until it has been quiet for %v (%s)",
			st.from, n, failureWindow, failureWindow, until.UTC().Format(time.RFC3339))
	}
	ctx.SetValue(authStateKey, st)
	tc := &trackedConn{Conn: conn, s: s, st: st}
	s.track(ctx, tc)
	return tc
}

func stateOf(ctx ssh.Context) *connState {
	st, _ := ctx.Value(authStateKey).(*connState)
	return st
}

// serverConfig is the per-connection x/crypto configuration: the key limit,
// the banner for a blocked address, and the notice of a verified login.
func (s *Server) serverConfig(ctx ssh.Context) *gossh.ServerConfig {
	st := stateOf(ctx)
	return &gossh.ServerConfig{
		MaxAuthTries: maxKeysPerConn,
		// Called once, at the connection's first authentication request.
		BannerCallback: func(cm gossh.ConnMetadata) string {
			st.mu.Lock()
			st.tried, st.login = true, cm.User()
			st.mu.Unlock()
			if st.blocked == "" {
				return ""
			}
			return st.blocked + "\r\n"
		},
		AuthLogCallback: func(_ gossh.ConnMetadata, method string, err error) {
			if err == nil && method == "publickey" { // called after the signature is verified
				st.mu.Lock()
				st.authed = true
				expires := st.key.Expires
				st.mu.Unlock()
				s.watchExpiry(st.ctx, expires)
				s.authOK.Add(1)
				s.limiter.succeeded(st.from)
			}
		},
	}
}

// publicKeyHandler looks a key up (it is called before the client proves it
// holds the key, and again never for the same key on one connection).
func (s *Server) publicKeyHandler(ctx ssh.Context, key ssh.PublicKey) bool {
	st := stateOf(ctx)
	if st.blocked != "" {
		return false
	}
	if isFwd, ok := s.admitGateway(ctx, key); isFwd {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.login = ctx.User()
		if !ok {
			st.nKeys++
			st.refused = append(st.refused, gossh.FingerprintSHA256(key)+": not the host key of a live gateway")
			return false
		}
		st.key, st.fwd = authkeys.Key{PublicKey: key}, true
		s.connOf(ctx, forwardedOf(ctx).id)
		return true
	}
	user, line, err := s.keys.Load().Lookup(ctx.User(), key, st.from, time.Now())
	st.mu.Lock()
	defer st.mu.Unlock()
	st.login = ctx.User()
	if err != nil {
		st.nKeys++
		if len(st.refused) < 5 {
			reason := "unknown key"
			if errors.Is(err, authkeys.ErrNotPermitted) {
				reason = strings.TrimPrefix(err.Error(), authkeys.ErrNotPermitted.Error()+": ")
				if user != "" {
					reason = fmt.Sprintf("key of %s %s", user, reason)
				}
			}
			st.refused = append(st.refused, gossh.FingerprintSHA256(key)+": "+reason)
		}
		return false
	}
	st.key = line
	ctx.SetValue(userKey, user)
	s.connOf(ctx, withCert(frontend.Identity{User: user, Key: gossh.FingerprintSHA256(key), From: ctx.RemoteAddr().String(), Via: "ssh"}, line))
	if line.Cert != nil {
		s.log.Info("ssh certificate accepted", "user", user, "cert", line.Cert.Describe(), "ca", line.Cert.CA, "from", st.remote)
	}
	return true
}

// withCert is id with what a certificate key says of its holder: the
// holder's own key, its CA, principals, end, key ID and serial.
func withCert(id frontend.Identity, k authkeys.Key) frontend.Identity {
	if k.Cert == nil {
		return id
	}
	id.Key, id.CA, id.Principals = k.Cert.Key, k.Cert.CA, k.Cert.Principals
	id.CertID, id.CertSerial, id.CertUntil = k.Cert.KeyID, k.Cert.Serial, k.Expires
	return id
}

// connEnded counts, logs and audits a connection that never logged in,
// and says why a logged-in one was dropped by the SSH layer.
func (s *Server) connEnded(st *connState) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.authed && !st.ended {
		st.ended = true
		if sc, ok := st.ctx.Value(ssh.ContextKeyConn).(*gossh.ServerConn); ok {
			go s.explainDrop(sc, st)
		}
	}
	if st.authed || st.ended {
		return
	}
	st.ended = true
	if !st.tried {
		// A port probe or health check: no login was attempted.
		s.log.Debug("ssh connection closed before asking to log in", "from", st.remote)
		return
	}
	s.authFailed.Add(1)
	why := st.blocked
	switch {
	case why != "":
		why = "address blocked: too many failed logins"
	case st.nKeys == 0 && st.key.PublicKey != nil:
		why = "a configured key was offered but never signed with"
	case st.nKeys == 0:
		why = "no key offered"
	default:
		why = fmt.Sprintf("%d key(s) refused: %s", st.nKeys, strings.Join(st.refused, "; "))
		if st.nKeys > len(st.refused) {
			why += "; ..."
		}
	}
	if n := s.limiter.failed(st.from); n > 0 {
		s.log.Warn("ssh address blocked: too many connections ended without logging in; it is refused until quiet",
			"from", st.from, "failures", n, "window", failureWindow)
		s.core.Record(frontend.Identity{From: st.from, Via: "ssh"}, "", "block",
			fmt.Sprintf("%d connections ended without logging in within %v; refused until quiet for %v", n, failureWindow, failureWindow), "blocked")
	}
	s.log.Info("ssh login refused", "login", st.login, "from", st.remote, "reason", why)
	s.core.Record(frontend.Identity{User: st.login, From: st.remote, Via: "ssh"}, "", "login", "", "refused: "+why)
}

// explainDrop logs and audits a connection x/crypto ended because the
// client sent a packet over the SSH maximum (256 KiB, as in OpenSSH): the
// usual cause is a huge command line, which cannot be answered then.
func (s *Server) explainDrop(sc *gossh.ServerConn, st *connState) {
	err := sc.Wait()
	if err == nil || !strings.Contains(err.Error(), "packet too large") {
		return
	}
	user, _ := st.ctx.Value(userKey).(string)
	fp := ""
	st.mu.Lock()
	if st.key.PublicKey != nil {
		fp = gossh.FingerprintSHA256(st.key)
	}
	st.mu.Unlock()
	why := fmt.Sprintf("connection dropped: the client sent an SSH packet over 256 KiB (a command line may be at most %d bytes)", maxCommand)
	s.log.Warn("ssh "+why, "user", user, "from", st.remote)
	s.core.Record(frontend.Identity{User: user, Key: fp, From: st.remote, Via: "ssh"}, "", "command", "", "refused: "+why)
}

// ptyAllowed refuses a terminal to a key whose line says restrict or no-pty.
func (s *Server) ptyAllowed(ctx ssh.Context, _ ssh.Pty) bool {
	if s.keyStands(ctx) != nil {
		return false // the session request that follows is refused with the reason
	}
	st := stateOf(ctx)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.key.NoPTY {
		s.log.Info("ssh pty refused: the key's line says restrict or no-pty", "user", ctx.Value(userKey), "key", st.key.Where)
		return false
	}
	return true
}

// keyStands decides again, for a new session on a connection opened
// earlier (an OpenSSH ControlMaster), after a reload and when the key
// expires, whether its key admits the connection: under the keys in force
// now (a reload may have changed the key's from= or options) and at this
// time (expiry-time). The line that admits it then decides the session's
// terminal, and when the connection is decided again for its expiry.
func (s *Server) keyStands(ctx ssh.Context) error {
	st := stateOf(ctx)
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.key.PublicKey == nil {
		return errors.New("no key admitted this connection")
	}
	if st.fwd {
		return nil // the entry gateway decided the person's key; the core checks it is still theirs
	}
	_, line, err := s.keys.Load().Lookup(st.login, st.key.PublicKey, st.from, time.Now())
	if err != nil {
		return fmt.Errorf("the key this connection logged in with no longer admits it: %w", err)
	}
	st.key = line
	s.watchExpiry(ctx, line.Expires)
	return nil
}

// AuthCounts reports logins and connections that ended without one.
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
