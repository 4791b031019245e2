package frontend

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Access is what a user may do on a console.
type Access int

// Access levels.
const (
	NoAccess  Access = iota // the console does not exist for this user
	ReadOnly                // watch, read logs
	ReadWrite               // also type, BREAK, power, take over
)

func (a Access) String() string {
	return [...]string{"none", "ro", "rw"}[a]
}

// AccessFunc says what user may do on console.
type AccessFunc func(user, console string) Access

// AuditEvent is one line of the audit log.
type AuditEvent struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Key     string    `json:"key,omitempty"` // SHA256 fingerprint of the key used
	From    string    `json:"from"`
	Console string    `json:"console,omitempty"`
	Action  string    `json:"action"` // login, lookup, attach, detach, takeover, type, break, send, power, note
	Detail  string    `json:"detail,omitempty"`
	Result  string    `json:"result"` // ok, refused: why, failed: why
}

// Auditor writes audit events as JSON lines. A nil *Auditor records nothing.
type Auditor struct {
	mu  sync.Mutex
	w   io.Writer
	log *slog.Logger
}

// NewAuditor writes to w (an append-only file, usually).
func NewAuditor(w io.Writer, log *slog.Logger) *Auditor { return &Auditor{w: w, log: log} }

// Record writes one event.
func (a *Auditor) Record(ev AuditEvent) {
	if a == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.w.Write(append(b, '\n')); err != nil && a.log != nil {
		a.log.Error("writing audit log", "err", err)
	}
}

// audit records an action of this session's user.
func (s *Server) audit(ss *session, console, action, detail, result string) {
	s.opts.Audit.Record(AuditEvent{User: ss.user, Key: ss.keyFP, From: ss.RemoteAddr().String(),
		Console: console, Action: action, Detail: detail, Result: result})
}

// access is what this session's user may do on console.
func (s *Server) access(ss *session, console string) Access {
	access := s.pol().Access
	if access == nil {
		return ReadWrite
	}
	return access(ss.user, console)
}

// lookup finds a console this user may see; others look nonexistent.
func (s *Server) lookup(ss *session, name string) (*consoleRef, bool) {
	con, ok := s.opts.Consoles.Console(name)
	if !ok {
		return nil, false
	}
	acc := s.access(ss, name)
	if acc == NoAccess {
		s.audit(ss, name, "lookup", "", "refused: no access")
		return nil, false
	}
	return &consoleRef{Console: con, access: acc}, true
}

// refuse tells the user why not, records it, and returns exit status 2.
// action is the audit vocabulary (attach, takeover, break, send, power);
// detail says more (the power action, the break sequence).
func (s *Server) refuse(ss *session, console, action, detail, why string) int {
	what := action
	if detail != "" {
		what += " " + detail
	}
	fmt.Fprintf(ss.Stderr(), "consoled: %s %s refused: %s\n", what, console, why)
	s.audit(ss, console, action, detail, "refused: "+why)
	return 2
}
