package sshd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"

	"consoled/authkeys"
	"consoled/frontend"
)

// conn is one authenticated SSH connection. A reload that removes its user
// (or the key it logged in with) ends every session on it with a cause
// that says why, then closes it: an OpenSSH ControlMaster connection
// cannot be used to open new sessions after the user's access is gone.
type conn struct {
	ctx    context.Context // cancelled with the revocation cause
	cancel context.CancelCauseFunc
	net    net.Conn
	sshCtx ssh.Context // the connection's, with its auth state

	mu     sync.Mutex
	id     frontend.Identity // who logged in (set with the first session)
	active int               // sessions running on it
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

// recheck closes the connections of users who no longer stand (after a
// reload): their sessions are told why, the event is audited, and the
// connection is closed once they have ended (2 s at most).
func (s *Server) recheck() {
	s.mu.Lock()
	var gone []*conn
	for c := range s.conns {
		gone = append(gone, c)
	}
	s.mu.Unlock()
	for _, c := range gone {
		c.mu.Lock()
		id := c.id
		c.mu.Unlock()
		if id.User == "" || c.ctx.Err() != nil {
			continue
		}
		why := s.core.Stands(id)
		if why == nil {
			// The key under the keys in force now: a revoked_keys_file
			// read again may revoke a key or certificate, a CA may no
			// longer be trusted. (A plain key whose from= or expiry-time
			// no longer admits it only opens no more sessions.)
			if err := s.keyStands(c.sshCtx); err != nil && (errors.Is(err, authkeys.ErrRevoked) || certConn(c.sshCtx)) {
				why = err
			}
		}
		if why == nil {
			continue
		}
		cause := fmt.Errorf("%w: %v", frontend.ErrRevoked, why)
		s.log.Info("closing the connection of a removed user", "user", id.User, "from", id.From, "why", why)
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
}

// certConn reports whether the connection logged in with a certificate.
func certConn(ctx ssh.Context) bool {
	st := stateOf(ctx)
	if st == nil {
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.key.Cert != nil
}
