package sshd

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"

	"consoled/frontend"
)

// conn is one authenticated SSH connection. When its user's access ends
// (a reload removes the user or the key it logged in with, revokes the
// key, changes its from= to exclude the connection's address; the key's
// expiry-time or certificate's valid-before passes) every session on it
// ends with a cause that says why, then it is closed: an OpenSSH
// ControlMaster connection cannot be used to open new sessions after the
// user's access is gone.
type conn struct {
	ctx    context.Context // cancelled with the revocation cause
	cancel context.CancelCauseFunc
	net    net.Conn
	sshCtx ssh.Context // the connection's, with its auth state

	mu     sync.Mutex
	id     frontend.Identity // who logged in (set with the first session)
	active int               // sessions running on it
	expiry *time.Timer       // re-decides the connection when its key expires
	ending bool              // decide is closing it (once, if a reload and the expiry meet)
}

// begin counts a session on c; end uncounts it.
func (c *conn) begin() { c.mu.Lock(); c.active++; c.mu.Unlock() }
func (c *conn) end()   { c.mu.Lock(); c.active--; c.mu.Unlock() }

func (c *conn) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active == 0
}

type connKeyT struct{}

var connKey connKeyT

// track registers a new connection; it is forgotten when it closes.
func (s *Server) track(ctx ssh.Context, nc net.Conn) {
	c := &conn{net: nc, sshCtx: ctx}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	ctx.SetValue(connKey, c)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	context.AfterFunc(ctx, func() {
		c.cancel(nil)
		c.expireAt(time.Time{}, nil)
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	})
}

// connOf is the connection a session runs on, remembering who it serves.
func (s *Server) connOf(ctx ssh.Context, id frontend.Identity) *conn {
	c, _ := ctx.Value(connKey).(*conn)
	if c != nil {
		c.mu.Lock()
		c.id = id
		c.mu.Unlock()
	}
	return c
}

// expirySlack is how long after a key's expiry its connections are
// re-decided: authkeys.Key.Permit admits a key until just after its
// expiry-time.
const expirySlack = 10 * time.Millisecond

// expireAt arranges for f to run when the key that admits c expires at t,
// replacing what was arranged before (zero t: nothing).
func (c *conn) expireAt(t time.Time, f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expiry != nil {
		c.expiry.Stop()
		c.expiry = nil
	}
	if t.IsZero() || f == nil || c.ctx.Err() != nil {
		return
	}
	c.expiry = time.AfterFunc(time.Until(t)+expirySlack, f)
}

// watchExpiry makes the connection of ctx end when its key, as decided
// last, expires (expiry-time, a certificate's valid-before).
func (s *Server) watchExpiry(ctx ssh.Context, expires time.Time) {
	c, _ := ctx.Value(connKey).(*conn)
	if c == nil {
		return
	}
	c.expireAt(expires, func() { s.decide(c, false) })
}

// recheck closes the connections of users who no longer stand (after a
// reload): their sessions are told why, the event is audited, and the
// connection is closed once they have ended (2 s at most).
func (s *Server) recheck() {
	s.mu.Lock()
	var all []*conn
	for c := range s.conns {
		all = append(all, c)
	}
	s.mu.Unlock()
	for _, c := range all {
		s.decide(c, true)
	}
}

// accessEnded is the cause of a session whose key stopped admitting it
// while no reload happened (it expired): it is told like a revocation,
// without blaming a reload.
type accessEnded struct{ error }

func (e accessEnded) Unwrap() error        { return e.error }
func (e accessEnded) Is(target error) bool { return target == frontend.ErrRevoked }

// decide closes c if its user or key no longer admits it now: the user
// and key under the configuration in force (a reload may have removed
// them, revoked the key or certificate, stopped trusting its CA, changed
// its from= to exclude the connection's address), and the key's expiry.
// reload says a reload asked, for the cause the sessions see.
func (s *Server) decide(c *conn, reload bool) {
	c.mu.Lock()
	id := c.id
	c.mu.Unlock()
	if id.User == "" || c.ctx.Err() != nil {
		return
	}
	why := s.core.Stands(id)
	if why == nil {
		why = s.keyStands(c.sshCtx) // re-arms the expiry if the key stands
	}
	if why == nil {
		return
	}
	c.mu.Lock()
	again := c.ending
	c.ending = true
	c.mu.Unlock()
	if again {
		return
	}
	var cause error = accessEnded{why}
	if reload {
		cause = fmt.Errorf("%w: %v", frontend.ErrRevoked, why)
	}
	s.log.Info("closing a connection whose access ended", "user", id.User, "from", id.From, "why", why)
	s.core.Record(id, "", "disconnect", why.Error(), "ok")
	c.cancel(cause)
	go func() {
		// Time for the sessions to say why.
		for deadline := time.Now().Add(2 * time.Second); !c.idle() && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		c.net.Close()
	}()
}
