// Package sshd is consoled's SSH server: it authenticates people by
// public key, routes the command line ("list", "help", or a console name)
// and attaches sessions to consoles in the mux. It knows consoles only
// through the mux package, and what people may do through package frontend.
package sshd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"consoled/breakseq"
	"consoled/frontend"
	"consoled/mux"
	"consoled/panics"
)

// Registry is the set of consoles the server offers.
type Registry interface {
	Console(name string) (*mux.Console, bool)
	Consoles() []*mux.Console
}

// Options configure a Server.
type Options struct {
	Consoles Registry
	Keys     *Keyring
	HostKey  gossh.Signer
	Logger   *slog.Logger
	Audit    *frontend.Auditor // nil: no audit log
	LogDir   string            // where `logs` reads
	Panics   *panics.Store     // what `panics` lists; nil: none
	Policy   Policy
	// Reload re-reads the configuration (the `reload` command); it returns
	// a summary of what it applied, or why the new configuration was
	// refused (summary "": nothing changed), or both when it applied only
	// part.
	Reload func() (string, error)
}

// Policy is the part of the configuration a reload changes: access checks
// use the new one at once, escapes and replay apply to new sessions.
type Policy struct {
	Access frontend.AccessFunc  // nil: every user has rw everywhere
	Breaks map[int]breakseq.Seq // ^Ecl1..9, break --seq N
	Escape []byte               // e.g. {0x05, 'c'} for ^Ec
	Replay int                  // lines of recent output shown on interactive attach
	Admins map[string]bool      // may run `reload`
}

// maxCommand bounds an SSH command line.
const maxCommand = 64 << 10

// ErrShutdown is the cause sessions see when consoled stops.
var ErrShutdown = errors.New("consoled is shutting down")

// Server is the SSH frontend.
type Server struct {
	opts   Options
	log    *slog.Logger
	keys   atomic.Pointer[Keyring]
	policy atomic.Pointer[Policy]

	authOK, authFailed atomic.Uint64
	limiter            *authLimiter
	serving            atomic.Bool
	ssh                *ssh.Server

	ctx    context.Context // cancelled with a cause on shutdown
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	closing  bool
	sessions sync.WaitGroup
}

// New returns a server; call Serve to accept connections.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, log: opts.Logger, limiter: newAuthLimiter()}
	s.keys.Store(opts.Keys)
	s.SetPolicy(opts.Policy)
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	s.ssh = &ssh.Server{
		Handler:          s.guard(s.route),
		PublicKeyHandler: s.publicKeyHandler,
		HostSigners:      []ssh.Signer{opts.HostKey},
		ConnCallback:     s.admit,
		Version:          "consoled",
		// No forwarding callbacks and no subsystems: port, agent and X11
		// forwarding and sftp are all refused.
	}
	return s
}

// admit drops connections from addresses that keep failing to log in.
func (s *Server) admit(ctx ssh.Context, conn net.Conn) net.Conn {
	if s.limiter.blocked(conn.RemoteAddr()) {
		s.log.Warn("ssh connection refused: too many failed logins", "from", conn.RemoteAddr().String())
		conn.Close()
		return nil
	}
	return conn
}

// SetKeys replaces the keyring (on config reload).
func (s *Server) SetKeys(k *Keyring) { s.keys.Store(k) }

// SetPolicy replaces the policy (on config reload).
func (s *Server) SetPolicy(p Policy) {
	if len(p.Escape) == 0 {
		p.Escape = []byte{0x05, 'c'}
	}
	s.policy.Store(&p)
}

func (s *Server) pol() *Policy { return s.policy.Load() }

// escapeStr shows the escape prefix as people type it, e.g. "^Ec".
func (s *Server) escapeStr() string { return caret(s.pol().Escape) }

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
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.cancel(ErrShutdown)
	done := make(chan struct{})
	go func() { s.sessions.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return s.ssh.Close()
}

// guard is the outermost middleware: it tracks the session for shutdown and
// turns a panic in one session into an error for that session only.
func (s *Server) guard(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			fmt.Fprintf(sess.Stderr(), "consoled: %v\n", ErrShutdown)
			sess.Exit(1)
			return
		}
		s.sessions.Add(1)
		s.mu.Unlock()
		defer s.sessions.Done()
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
	user  string
	keyFP string // fingerprint of the key the user logged in with
	args  []string
	// ctx ends when the client goes or the server shuts down; its cause
	// says which.
	ctx context.Context
}

func (s *Server) route(sess ssh.Session) {
	user, _ := sess.Context().Value(userKey).(string)
	if user == "" { // cannot happen: every login passed publicKeyHandler
		sess.Exit(1)
		return
	}
	ctx, cancel := context.WithCancelCause(sess.Context())
	defer cancel(nil)
	stop := context.AfterFunc(s.ctx, func() { cancel(context.Cause(s.ctx)) })
	defer stop()
	fp := ""
	if k := sess.PublicKey(); k != nil {
		fp = gossh.FingerprintSHA256(k)
	}
	ss := &session{Session: sess, user: user, keyFP: fp, args: sess.Command(), ctx: ctx}
	if len(sess.RawCommand()) > maxCommand {
		fmt.Fprintf(sess.Stderr(), "consoled: command line too long (%d bytes; at most %d)\n", len(sess.RawCommand()), maxCommand)
		sess.Exit(2)
		return
	}
	code := s.dispatch(ss)
	sess.Exit(code)
}

// dispatch runs the command line and returns the exit status.
func (s *Server) dispatch(ss *session) int {
	if len(ss.args) == 0 {
		s.help(ss)
		return 0
	}
	switch ss.args[0] {
	case "list":
		return s.list(ss)
	case "help", "-h", "--help":
		s.help(ss)
		return 0
	case "power":
		return s.power(ss)
	case "break":
		return s.breakCmd(ss)
	case "send":
		return s.send(ss)
	case "who":
		return s.who(ss)
	case "logs":
		return s.logs(ss)
	case "panics":
		return s.panicList(ss)
	case "reload":
		return s.reload(ss)
	case "attach", "console":
		if len(ss.args) < 2 {
			fmt.Fprintf(ss.Stderr(), "usage: %s NAME [--force|--spy]\n", ss.args[0])
			return 2
		}
		ss.args = ss.args[1:]
	}
	con, ok := s.lookup(ss, ss.args[0])
	if !ok {
		fmt.Fprintf(ss.Stderr(), "consoled: no console or command %q; try 'list' or 'help'\n", ss.args[0])
		return 2
	}
	return s.attach(ss, con)
}

func (s *Server) help(ss *session) {
	nl := "\n"
	if _, _, pty := ss.Pty(); pty {
		nl = "\r\n"
	}
	lines := []string{
		"consoled: serial consoles over SSH",
		"",
		"  ssh -t console@HOST NAME     interactive console NAME (" + s.escapeStr() + "? inside for escapes)",
		"  ssh console@HOST NAME        raw bytes in and out, for scripts (no escapes)",
		"  ssh console@HOST list        consoles: name backend state writer viewers [problem]",
		"  ssh console@HOST list --json",
		"  ssh console@HOST NAME --force      scripts: take write access from whoever has it",
		"  ssh console@HOST NAME --spy        watch only",
		"  ssh console@HOST who NAME",
		"  ssh console@HOST send [--force] [-n] NAME TEXT   type TEXT (and Enter, unless -n)",
		"  ssh console@HOST break NAME [KEYS] [--seq N] [--wait 10s] [--expect REGEX] [--force]",
		"                               BREAK (or sequence N), then KEYS; exit 0 if REGEX matched, 1 if not, 2 if refused",
		"  ssh console@HOST power NAME status|on|off|cycle|reset",
		"  ssh console@HOST logs NAME [--since 2h|2026-11-23T03:00] [--until T] [--tail N] [--grep REGEX]",
		"                               [--context N] [--follow] [--timestamps] [--raw]",
		"  ssh console@HOST panics [--since 24h] [NAME...]   crashes seen on the consoles, newest first",
		"  ssh console@HOST reload      re-read the configuration (admins only)",
		"  ssh console@HOST help        this text",
		"",
	}
	for _, l := range lines {
		io.WriteString(ss, l+nl)
	}
	s.writeList(ss, ss, nl)
}

func (s *Server) list(ss *session) int {
	switch {
	case len(ss.args) == 1:
		s.writeList(ss, ss, "\n")
	case len(ss.args) == 2 && ss.args[1] == "--json":
		s.writeJSONList(ss)
	default:
		fmt.Fprintf(ss.Stderr(), "usage: list [--json]\n")
		return 2
	}
	return 0
}

// visible is the consoles this session's user may see, sorted by name.
func (s *Server) visible(ss *session) []*mux.Console {
	var cons []*mux.Console
	for _, c := range s.opts.Consoles.Consoles() {
		if s.access(ss, c.Name()) != frontend.NoAccess {
			cons = append(cons, c)
		}
	}
	sort.Slice(cons, func(i, j int) bool { return cons[i].Name() < cons[j].Name() })
	return cons
}

func (s *Server) writeJSONList(ss *session) {
	type entry struct {
		Name    string    `json:"name"`
		Backend string    `json:"backend"`
		Detail  string    `json:"detail,omitempty"`
		State   string    `json:"state"`
		Since   time.Time `json:"since"`
		Error   string    `json:"error,omitempty"`
		LogErr  string    `json:"log_error,omitempty"`
		Writer  string    `json:"writer,omitempty"`
		Viewers int       `json:"viewers"`
		Access  string    `json:"access"`
	}
	out := []entry{}
	for _, c := range s.visible(ss) {
		st := c.Status()
		e := entry{Name: st.Name, Backend: st.Kind, Detail: st.Detail, State: string(st.State), Since: st.Since.UTC(),
			Writer: st.Writer, Viewers: st.Viewers, Access: s.access(ss, st.Name).String()}
		if st.State != mux.StateUp && st.Err != nil {
			e.Error = oneLine(st.Err.Error())
		}
		if st.LogErr != nil {
			e.LogErr = oneLine(st.LogErr.Error())
		}
		out = append(out, e)
	}
	enc := json.NewEncoder(ss)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

func (s *Server) writeList(ss *session, w io.Writer, nl string) {
	cons := s.visible(ss)
	width := 4
	for _, c := range cons {
		width = max(width, len(c.Name()))
	}
	for _, c := range cons {
		st := c.Status()
		writer := st.Writer
		if writer == "" {
			writer = "-"
		}
		line := fmt.Sprintf("%-*s %-7s %-10s %-10s %d", width, st.Name, st.Kind, st.State, writer, st.Viewers)
		if st.State != mux.StateUp && st.Err != nil {
			line += fmt.Sprintf("  since %s: %s", st.Since.UTC().Format(time.RFC3339), oneLine(st.Err.Error()))
		}
		if st.LogErr != nil {
			line += "  LOG NOT WRITTEN: " + oneLine(st.LogErr.Error())
		}
		io.WriteString(w, line+nl)
	}
}

// oneLine keeps a message on one line of a listing.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// caret shows bytes in caret notation: {0x05,'c'} -> "^Ec".
func caret(b []byte) string {
	var out []byte
	for _, c := range b {
		switch {
		case c < 0x20:
			out = append(out, '^', c+'@')
		case c == 0x7f:
			out = append(out, '^', '?')
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

// reload re-reads the configuration for an admin.
func (s *Server) reload(ss *session) int {
	if !s.pol().Admins[ss.user] {
		return s.refuse(ss, "", "reload", "", "not an admin (admins = [...] in the config)")
	}
	if s.opts.Reload == nil {
		fmt.Fprintf(ss.Stderr(), "consoled: reload is not available (no config file)\n")
		return 1
	}
	summary, err := s.opts.Reload()
	switch {
	case err != nil && summary == "":
		s.audit(ss, "", "reload", "", "failed: "+oneLine(err.Error()))
		fmt.Fprintf(ss.Stderr(), "consoled: reload refused, the running configuration stays:\n%v\n", err)
		return 1
	case err != nil:
		s.audit(ss, "", "reload", summary, "failed in part: "+oneLine(err.Error()))
		fmt.Fprintf(ss, "%s\n", summary)
		fmt.Fprintf(ss.Stderr(), "consoled: reload applied in part: %v\n", err)
		return 1
	}
	s.audit(ss, "", "reload", summary, "ok")
	fmt.Fprintf(ss, "%s\n", summary)
	return 0
}
