package frontend

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"consoled/breakseq"
	"consoled/mux"
)

// ErrRevoked is the cause a session ends with when a reload takes its
// user's access to the console away.
var ErrRevoked = errors.New("access removed by a configuration reload")

// Mode is how a session asks to attach.
type Mode int

// Attach modes.
const (
	Watch Mode = iota // read-only, even with rw access (a spy)
	Write             // write access if the user has rw and nobody writes
	Force             // write access, taken from whoever has it
)

// holder is something running for id on a console (a session, a log
// follow): SetPolicy re-checks it.
type holder struct {
	id       Identity
	console  string
	lost     func(cause error) // id may no longer see the console
	demoted  func()            // id may no longer write; nil: nothing to do
	promoted func()            // id may write; nil: nothing to do
	// gone is called instead of lost when the console itself was removed
	// (a log follow then reads to the end of its log); nil: lost.
	gone func(cause error)
}

// recheck applies p to what h holds; cs tells whether its console still
// runs here (a reload removes consoles before it puts its policy in force).
func (h *holder) recheck(p *Policy, cs Consoles) {
	switch p.access(h.id, h.console) {
	case NoAccess:
		why := p.stands(h.id)
		if why == nil {
			if _, ok := cs.Console(h.console); !ok {
				cause := fmt.Errorf("%w: console %s was removed from the configuration", ErrRevoked, h.console)
				if h.gone != nil {
					h.gone(cause)
				} else {
					h.lost(cause)
				}
				return
			}
			why = fmt.Errorf("%s may no longer use %s", h.id.User, h.console)
		}
		h.lost(fmt.Errorf("%w: %v", ErrRevoked, why))
	case ReadOnly:
		if h.demoted != nil {
			h.demoted()
		}
	case ReadWrite:
		if h.promoted != nil {
			h.promoted()
		}
	}
}

// hold registers h until release is called.
func (c *Core) hold(h *holder) (release func()) {
	c.mu.Lock()
	c.holders[h] = struct{}{}
	c.mu.Unlock()
	// A policy set while h was being made may have missed it.
	h.recheck(c.Policy(), c.opts.Consoles)
	return func() {
		c.mu.Lock()
		delete(c.holders, h)
		c.mu.Unlock()
	}
}

// Session is one person attached to one console. Its actions are decided
// against the policy in force when each happens.
type Session struct {
	c       *Core
	id      Identity
	con     *mux.Console
	cl      *mux.Client
	release func()

	mu          sync.Mutex
	typeRefused bool // the last Write was refused (audited once per run)
	mayWrite    bool // the user had rw access when last looked at
}

// Attach attaches id to console name. With Force, write access is taken
// from whoever has it (rw access needed); with Write, it is taken if free.
func (c *Core) Attach(id Identity, name string, mode Mode) (*Session, error) {
	con, acc, err := c.lookup(id, name)
	if err != nil {
		return nil, err
	}
	if mode == Force && acc != ReadWrite {
		return nil, c.refuse(id, name, "takeover", "attach --force", "read-only access")
	}
	s := &Session{c: c, id: id, con: con, mayWrite: acc == ReadWrite}
	s.cl = con.Attach(id.User, id.From, acc == ReadWrite && mode != Watch)
	if mode == Force && !s.cl.Writer() {
		prev, _ := s.cl.TakeWrite(true)
		c.Record(id, name, "takeover", "from "+prev, "ok")
	}
	how := "ro"
	if s.cl.Writer() {
		how = "rw"
	}
	c.Record(id, name, "attach", how, "ok")
	s.release = c.hold(&holder{id: id, console: name, lost: s.revoke, demoted: s.demote, promoted: s.promote})
	return s, nil
}

// revoke cuts the session off: its user may no longer see the console.
func (s *Session) revoke(cause error) {
	select {
	case <-s.cl.Done():
		return
	default:
	}
	s.c.Record(s.id, s.con.Name(), "revoke", OneLine(cause.Error()), "ok")
	s.cl.Detach(cause)
}

// demote makes a writer who may no longer write a viewer; a session whose
// user had rw access is told, once.
func (s *Session) demote() {
	s.cl.Bar(true) // a taker ending its session must not hand write access back
	s.mu.Lock()
	had := s.mayWrite
	s.mayWrite = false
	s.mu.Unlock()
	wrote := s.cl.Writer()
	if wrote {
		s.cl.LoseWrite("configuration reloaded")
	}
	if had || wrote {
		s.c.Record(s.id, s.con.Name(), "demote", "rw -> ro", "ok")
		s.cl.Tell(fmt.Sprintf("your access to %s is now read-only (configuration reloaded)", s.con.Name()))
	}
}

// promote notes that the user may write again (a later demotion is told).
func (s *Session) promote() {
	s.cl.Bar(false)
	s.mu.Lock()
	s.mayWrite = true
	s.mu.Unlock()
}

// Close detaches the session.
func (s *Session) Close() {
	s.release()
	revoked := s.cl.Cause() != nil && errors.Is(s.cl.Cause(), ErrRevoked)
	s.cl.Close()
	if !revoked {
		s.c.Record(s.id, s.con.Name(), "detach", "", "ok")
	}
}

// Console is the console attached to.
func (s *Session) Console() *mux.Console { return s.con }

// Name is the console's name.
func (s *Session) Name() string { return s.con.Name() }

// Access is what the session's user may do on the console now.
func (s *Session) Access() Access { return s.c.Access(s.id, s.con.Name()) }

// Writer reports whether the session has write access.
func (s *Session) Writer() bool { return s.cl.Writer() }

// WriterName is who has write access now, "" if nobody.
func (s *Session) WriterName() string { return s.cl.WriterName() }

// Next waits for output (see mux.Client.Next).
func (s *Session) Next(ctx context.Context) ([]mux.Item, error) { return s.cl.Next(ctx) }

// Done is closed when the session has been cut off; Cause says why.
func (s *Session) Done() <-chan struct{} { return s.cl.Done() }

// Cause is why the session was cut off, nil while attached.
func (s *Session) Cause() error { return s.cl.Cause() }

// MayWrite is nil if the session's user has rw access now; a refusal is
// recorded as action/detail.
func (s *Session) MayWrite(action, detail string) error {
	switch s.Access() {
	case ReadWrite:
		return nil
	case NoAccess:
		return s.c.refuse(s.id, s.con.Name(), action, detail, "no access")
	}
	return s.c.refuse(s.id, s.con.Name(), action, detail, "read-only access")
}

// Write sends keystrokes to the machine: the user must have rw access now
// and be the writer (mux.ErrReadOnly if another is). A refusal by the
// policy is recorded once per run of refused writes.
func (s *Session) Write(p []byte) (int, error) {
	if acc := s.Access(); acc != ReadWrite {
		s.demote()
		s.mu.Lock()
		first := !s.typeRefused
		s.typeRefused = true
		s.mu.Unlock()
		why := "read-only access"
		if acc == NoAccess {
			why = "no access"
		}
		if first {
			return 0, s.c.refuse(s.id, s.con.Name(), "type", "", why)
		}
		return 0, &DeniedError{Why: why}
	}
	s.mu.Lock()
	s.typeRefused = false
	s.mu.Unlock()
	return s.cl.Write(p)
}

// TakeWrite gives the session write access: if nobody has it, or taken
// from whoever has it with force. It returns who was displaced.
func (s *Session) TakeWrite(force bool) (displaced string, err error) {
	action, detail := "attach", "rw"
	if force {
		action, detail = "takeover", "force"
	}
	if err := s.MayWrite(action, detail); err != nil {
		return "", err
	}
	prev, err := s.cl.TakeWrite(force)
	switch {
	case err != nil:
	case prev != "" && prev != s.id.User:
		s.c.Record(s.id, s.con.Name(), "takeover", "from "+prev, "ok")
	default:
		s.c.Record(s.id, s.con.Name(), "attach", "rw", "ok")
	}
	return prev, err
}

// DropWrite gives write access up.
func (s *Session) DropWrite() { s.cl.DropWrite() }

// BreakDetail names break sequence n (0: a plain BREAK) for people and
// the audit log.
func BreakDetail(n int) string {
	if n == 0 {
		return "BREAK"
	}
	return fmt.Sprintf("break sequence %d", n)
}

// ErrNoSequence: no break sequence has that number.
var ErrNoSequence = errors.New("no such break sequence")

// Break sends a BREAK (n = 0) or break sequence n.
func (s *Session) Break(ctx context.Context, n int) error {
	detail := BreakDetail(n)
	if err := s.MayWrite("break", detail); err != nil {
		return err
	}
	var err error
	if n == 0 {
		err = s.cl.Break()
	} else if seq, ok := s.c.Policy().Breaks[n]; !ok {
		return fmt.Errorf("%w: %d", ErrNoSequence, n)
	} else {
		err = breakseq.Send(ctx, s.writer(), seq)
	}
	if err != nil {
		s.c.Record(s.id, s.con.Name(), "break", detail, "failed: "+OneLine(err.Error()))
		return err
	}
	s.c.Record(s.id, s.con.Name(), "break", detail, "ok")
	return nil
}

// writer is what breakseq sends through: each step decided like Write.
func (s *Session) writer() breakseq.Sender { return seqSender{s} }

type seqSender struct{ s *Session }

func (w seqSender) Write(p []byte) (int, error) {
	if err := w.s.MayWrite("break", "sequence step"); err != nil {
		return 0, err
	}
	return w.s.cl.Write(p)
}

func (w seqSender) Break() error {
	if err := w.s.MayWrite("break", "sequence step"); err != nil {
		return err
	}
	return w.s.cl.Break()
}

// Note writes a line of text into the console's log, marked with who.
func (s *Session) Note(text string) error {
	if s.Access() == NoAccess {
		return s.c.refuse(s.id, s.con.Name(), "note", text, "no access")
	}
	s.con.Note(s.id.User, text)
	s.c.Record(s.id, s.con.Name(), "note", text, "ok")
	return nil
}

// Power runs a power action on the console's machine.
func (s *Session) Power(ctx context.Context, action string) (string, error) {
	return s.c.Power(ctx, s.id, s.con.Name(), action)
}

// Who lists the people attached to the console, the writer first.
func (s *Session) Who() ([]mux.ClientInfo, error) { return s.c.Who(s.id, s.con.Name()) }

// Recent is about the last n lines the console printed.
func (s *Session) Recent(n int) ([]byte, error) {
	if s.Access() == NoAccess {
		return nil, ErrNoConsole
	}
	return s.con.Recent(n)
}

// BootDevice sets the device the console's machine boots from next.
func (s *Session) BootDevice(ctx context.Context, dev string, persistent, efi bool) (string, error) {
	return s.c.BootDevice(ctx, s.id, s.con.Name(), dev, persistent, efi)
}
