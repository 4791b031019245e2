// Package sshd is consoled's SSH server, an adapter on package frontend's
// core: it authenticates people by public key, parses the command line
// ("list", "help", a console name, ...) and the escapes typed in an
// interactive session, calls the core with the person's Identity, and
// renders the answer (text, exit status). Who may do what is decided by the
// core, never here; after a reload, and when the key a connection logged in
// with expires, the connections of a user or key that no longer stands are
// closed (see conns.go).
package sshd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/anmitsu/go-shlex"
	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"consoled/authkeys"
	"consoled/frontend"
	"consoled/frontend/escape"
)

// Options configure a Server.
type Options struct {
	Core    *frontend.Core // decides, records and carries out every action
	Keys    *authkeys.Keyring
	HostKey gossh.Signer
	Logger  *slog.Logger
	// Cluster is the cluster of gateways this one belongs to; nil alone.
	Cluster Cluster
}

// maxCommand bounds an SSH command line.
const maxCommand = 64 << 10

// ErrShutdown is the cause sessions see when consoled stops.
var ErrShutdown = frontend.ErrShutdown

// Server is the SSH frontend.
type Server struct {
	opts Options
	log  *slog.Logger
	core *frontend.Core
	keys atomic.Pointer[authkeys.Keyring]

	authOK, authFailed atomic.Uint64
	limiter            *authLimiter
	serving            atomic.Bool
	ssh                *ssh.Server

	gate *frontend.Gate // sessions, refused and ended on shutdown

	mu    sync.Mutex
	conns map[*conn]struct{} // authenticated connections, re-checked on reload
}

// New returns a server; call Serve to accept connections.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, log: opts.Logger, core: opts.Core, limiter: newAuthLimiter(), conns: map[*conn]struct{}{},
		gate: frontend.NewGate()}
	s.keys.Store(opts.Keys)
	opts.Core.Watch(s.recheck)
	s.ssh = &ssh.Server{
		Handler:              s.guard(s.route),
		PublicKeyHandler:     s.publicKeyHandler,
		HostSigners:          []ssh.Signer{opts.HostKey},
		ConnCallback:         s.admit,
		ServerConfigCallback: s.serverConfig,
		PtyCallback:          s.ptyAllowed,
		Version:              "consoled",
		// No subsystems: sftp is refused; agent, X11 and env requests by
		// sessionHandler, port forwarding by these (each logged).
		ChannelHandlers: map[string]ssh.ChannelHandler{"session": s.sessionHandler,
			"direct-tcpip": s.refuseForward, "direct-streamlocal@openssh.com": s.refuseForward},
		RequestHandlers: s.forwardRequests(),
	}
	return s
}

// SetKeys replaces the keyring (on config reload, before the core's
// SetPolicy: connections whose key is gone are then closed).
func (s *Server) SetKeys(k *authkeys.Keyring) { s.keys.Store(k) }

func (s *Server) pol() *frontend.Policy { return s.core.Policy() }

// escapeStr shows the escape prefix as people type it, e.g. "^Ec".
func (s *Server) escapeStr() string { return escape.Caret(s.pol().Escape) }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.serving.Store(true)
	defer s.serving.Store(false)
	err := s.ssh.Serve(ln)
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// Serving reports whether the SSH listener is accepting connections.
func (s *Server) Serving() bool { return s.serving.Load() }

// Shutdown stops accepting, tells every attached session why it ends, and
// waits for them (or ctx) before closing connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.gate.Close(ctx)
	return s.ssh.Close()
}

// guard is the outermost middleware: it tracks the session for shutdown and
// turns a panic in one session into an error for that session only.
func (s *Server) guard(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		leave, ok := s.gate.Enter()
		if !ok {
			fmt.Fprintf(sess.Stderr(), "consoled: %v\n", ErrShutdown)
			sess.Exit(1)
			return
		}
		defer leave()
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("session panicked", "panic", r, "stack", string(debug.Stack()))
				fmt.Fprintf(sess.Stderr(), "consoled: internal error\n")
				sess.Exit(255)
			}
		}()
		next(sess)
	}
}

// session is what a command handler gets.
type session struct {
	ssh.Session
	id   frontend.Identity
	args []string
	// ctx ends when the client goes, the server shuts down or a reload
	// removes the user; its cause says which.
	ctx  context.Context
	told bool // the session told its client why ctx ended
	// forwarded: another gateway sent this session; it acts on this
	// gateway's consoles only.
	forwarded bool
}

func (s *Server) route(sess ssh.Session) {
	user, _ := sess.Context().Value(userKey).(string)
	if user == "" { // cannot happen: every login passed publicKeyHandler
		sess.Exit(1)
		return
	}
	id := frontend.Identity{User: user, From: sess.RemoteAddr().String(), Via: "ssh"}
	if k := sess.PublicKey(); k != nil {
		id.Key = gossh.FingerprintSHA256(k)
	}
	if st := stateOf(sess.Context()); st != nil {
		st.mu.Lock()
		id = withCert(id, st.key)
		st.mu.Unlock()
	}
	fwd := forwardedOf(sess.Context())
	if fwd != nil { // another gateway acts for this person
		id = fwd.id
	}
	cn := s.connOf(sess.Context(), id)
	ctx, cancel := context.WithCancelCause(sess.Context())
	defer cancel(nil)
	defer s.gate.Bind(cancel)()
	if cn != nil {
		cn.begin()
		defer cn.end()
		stopConn := context.AfterFunc(cn.ctx, func() { cancel(context.Cause(cn.ctx)) })
		defer stopConn()
	}
	if len(sess.RawCommand()) > maxCommand {
		fmt.Fprintf(sess.Stderr(), "consoled: command line too long (%d bytes; at most %d)\n", len(sess.RawCommand()), maxCommand)
		sess.Exit(2)
		return
	}
	// A connection opened earlier (e.g. an OpenSSH ControlMaster) may
	// outlive its user's access: each new session is decided now.
	err := s.core.Stands(id)
	if err == nil {
		err = s.keyStands(sess.Context()) // expiry-time, and from= as configured now
	}
	if err != nil {
		s.core.Record(id, "", "session", sess.RawCommand(), "refused: "+err.Error())
		fmt.Fprintf(sess.Stderr(), "consoled: %v\n", err)
		sess.Exit(1)
		return
	}
	// Split here rather than with sess.Command(), which drops the error of
	// an unbalanced quote and runs what it could parse.
	args, err := shlex.Split(sess.RawCommand(), true)
	if err != nil {
		fmt.Fprintf(sess.Stderr(), "consoled: cannot read the command line: %s\n", strings.ToLower(err.Error()))
		sess.Exit(2)
		return
	}
	ss := &session{Session: sess, id: id, args: args, ctx: ctx, forwarded: fwd != nil}
	code, done := s.forwardElsewhere(ss)
	if !done {
		code = s.dispatch(ss)
	}
	if cause := context.Cause(ctx); errors.Is(cause, frontend.ErrRevoked) && !ss.told {
		fmt.Fprintf(sess.Stderr(), "consoled: disconnected: %v\n", cause)
		code = 1
	}
	sess.Exit(code)
}
