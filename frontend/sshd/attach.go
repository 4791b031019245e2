package sshd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"consoled/frontend"
	"consoled/frontend/escape"
	"consoled/internal/cmdargs"
	"consoled/mux"
	"consoled/termsafe"
)

// rawIdle is how long a script session (no pty) keeps receiving output
// after its stdin ends, once the console has gone quiet; rawMaxLinger caps it.
const (
	rawIdle      = time.Second
	rawMaxLinger = 30 * time.Second
)

// attachment is one SSH session attached to one console.
type attachment struct {
	s   *Server
	ss  *session
	cs  *frontend.Session
	pty bool
	// The escape prefix as the session started with it: a reload changes
	// it for new sessions only.
	esc    []byte
	escStr string

	in      *inputTally  // what became of the input
	wmu     sync.Mutex   // one writer to the SSH channel at a time
	asking  question     // guarded by wmu: a prompt waiting for its answer
	lastOut atomic.Int64 // unix nanos of the last output sent
	lastKey atomic.Int64 // unix nanos of the last keystroke read

	// input goroutine only:
	warnedRO, warnedDown bool
	intercept            func(b byte) (done bool) // a prompt taking keys instead of the console
}

type inputEnd int

const (
	inputEOF    inputEnd = iota // the client closed stdin or went away
	inputDetach                 // the user typed the disconnect escape
)

// attach runs NAME [--force|--spy]: an interactive session with a pty, raw
// bytes for scripts without one.
func (s *Server) attach(ss *session) int {
	name := ss.args[0]
	if frontend.IsSet(name) {
		return s.broadcast(ss)
	}
	a0, err := cmdargs.Parse(ss.args[1:], nil, []string{"force", "spy"})
	if err != nil || len(a0.Pos) > 0 {
		if s.core.Access(ss.id, name) == frontend.NoAccess {
			return s.noSuch(ss, name)
		}
		fmt.Fprintf(ss.Stderr(), "usage: %s [--force|--spy]\n", name)
		return 2
	}
	mode := frontend.Write
	switch {
	case a0.Flags["force"] != "":
		mode = frontend.Force
	case a0.Flags["spy"] != "":
		mode = frontend.Watch
	}
	cs, err := s.core.Attach(ss.id, name, mode)
	switch {
	case errors.Is(err, frontend.ErrNoConsole):
		return s.noSuch(ss, name)
	case err != nil:
		return s.fail(ss, "takeover attach --force", name, err)
	}
	_, winch, pty := ss.Pty()
	if pty {
		go func() { // window size changes: the console's size is fixed (closed with the session)
			for range winch {
			}
		}()
	}
	a := &attachment{s: s, ss: ss, cs: cs, pty: pty, esc: s.pol().Escape, in: newInputTally()}
	a.escStr = escape.Caret(a.esc)
	defer cs.Close()
	how := "ro"
	if cs.Writer() {
		how = "rw"
	}
	s.log.Info("attached", "user", ss.id.User, "console", name, "from", ss.id.From, "mode", how, "pty", pty)
	a.lastOut.Store(time.Now().UnixNano())
	a.replayOnAttach()

	l, stop := ss.startLoop(a.input, a.idleWatch)
	defer stop()
	pumpDone := make(chan error, 1)
	go func() { pumpDone <- a.pump(ss.ctx) }()

	for {
		select {
		case d := <-l.idle:
			return ss.idled(a.farewell, d)
		case <-l.breaks:
			a.sendBreak(0)
		case <-cs.Done(): // cut off by the mux or the policy: too slow, console gone, access removed, shutdown
			a.farewell("disconnected: " + cs.Cause().Error())
			ss.told = true
			return a.inputEnded(true)
		case err := <-pumpDone:
			a.farewell("disconnected: " + err.Error())
			return a.inputEnded(true)
		case <-ss.ctx.Done():
			ss.ended(a.notice)
			return a.inputEnded(true)
		case end := <-l.input:
			if end == inputDetach {
				a.notice("detached from " + name)
				return 0
			}
			if !a.pty {
				a.linger(pumpDone)
			}
			return a.inputEnded(false)
		}
	}
}

// inputEnded tells a script (no pty) what became of its input if not all
// of it reached the console, and gives the session's exit status: 1 then,
// or if the session ended before its input did (ended), else 0.
func (a *attachment) inputEnded(ended bool) int {
	if !a.pty {
		if ended {
			a.in.end(2 * time.Second)
		}
		if r := a.in.report(a.cs.Name(), ended); r != "" {
			a.notice(r)
			return 1
		}
	}
	if ended {
		return 1
	}
	return 0
}

// noSuch says console name does not exist (for this user).
func (s *Server) noSuch(ss *session, name string) int {
	fmt.Fprintf(ss.Stderr(), "consoled: no console or command %q; try 'list' or 'help'\n", name)
	return 2
}

// farewell tells the client why it is being disconnected. A client that
// has stopped reading cannot be told: after 2 s its connection is closed,
// which also frees the output goroutine blocked writing to it.
func (a *attachment) farewell(text string) {
	told := make(chan struct{})
	go func() { a.notice(text); close(told) }()
	select {
	case <-told:
	case <-time.After(2 * time.Second):
		if conn, ok := a.ss.Context().Value(ssh.ContextKeyConn).(gossh.Conn); ok {
			a.s.log.Info("closing connection of a client that does not read", "user", a.ss.id.User, "from", a.ss.id.From)
			conn.Close()
		}
	}
}

func (a *attachment) greet() {
	if motd := a.s.pol().Motd; motd != "" && a.pty {
		a.notice(motd)
	}
	name, e := a.cs.Name(), a.escStr
	switch {
	case a.cs.Writer() && a.pty:
		a.notice(fmt.Sprintf("attached to %s read-write; %s? for help", name, e))
	case a.cs.Writer():
		// One line on stderr: a person who forgot -t learns why escapes do nothing.
		a.notice(fmt.Sprintf("attached to %s read-write without a terminal: raw bytes, no escapes (ssh -t for an interactive session)", name))
	case a.cs.Access() != frontend.ReadWrite:
		a.notice(fmt.Sprintf("attached to %s read-only (you may watch this console, not type on it)", name))
	case a.cs.WriterName() == "" && a.pty:
		a.notice(fmt.Sprintf("attached to %s as a spy; %sa takes write access", name, e))
	case a.cs.WriterName() == "":
		a.notice(fmt.Sprintf("attached to %s as a spy: input is discarded (attach without --spy to write)", name))
	case a.pty:
		a.notice(fmt.Sprintf("attached to %s read-only: %s has write access; %s? for help", name, a.cs.WriterName(), e))
	default:
		a.notice(fmt.Sprintf("attached to %s read-only: %s has write access (--force takes it); input is discarded", name, a.cs.WriterName()))
	}
}

// linger keeps a script session's output flowing after its stdin ended,
// until the console is quiet for rawIdle.
func (a *attachment) linger(pumpDone <-chan error) {
	start := time.Now()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for time.Since(start) < rawMaxLinger {
		select {
		case <-pumpDone:
			return
		case <-a.ss.ctx.Done():
			return
		case <-t.C:
			if time.Since(time.Unix(0, a.lastOut.Load())) >= rawIdle {
				return
			}
		}
	}
}

// pump copies console output to the client until the client is detached.
func (a *attachment) pump(ctx context.Context) error {
	var out []byte // output that queued up while the last write was going: one write
	write := func(p []byte) error {
		a.wmu.Lock()
		defer a.wmu.Unlock()
		if p = a.asking.hold(p); len(p) == 0 {
			return nil
		}
		if _, err := a.ss.Write(p); err != nil {
			return fmt.Errorf("writing to client: %w", err)
		}
		return nil
	}
	for {
		items, err := a.cs.Next(ctx)
		if err != nil {
			return err
		}
		if err := sendItems(items, &out, write, a.notice); err != nil {
			return err
		}
		if cap(out) > 64<<10 {
			out = nil
		}
		a.lastOut.Store(time.Now().UnixNano())
	}
}

// sendItems passes what queued for a client on in order: a run of output
// between notices goes out as one write (joined in *buf) instead of one
// write, and one SSH packet, per piece the backend read.
func sendItems(items []mux.Item, buf *[]byte, write func([]byte) error, notice func(string)) error {
	out := (*buf)[:0]
	defer func() { *buf = out[:0] }()
	for i, it := range items {
		if it.Notice != "" {
			notice(it.Notice)
			continue
		}
		data := it.Data
		if i+1 < len(items) && items[i+1].Notice == "" && len(out)+len(it.Data) < 32<<10 {
			out = append(out, it.Data...) // more output follows
			continue
		}
		if len(out) > 0 {
			out = append(out, it.Data...)
			data = out
		}
		err := write(data)
		out = out[:0]
		if err != nil {
			return err
		}
	}
	return nil
}

// notice tells this client something: inline in an interactive session, on
// stderr for scripts, so their stdout stays the console's bytes only.
func (a *attachment) notice(text string) {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if a.pty {
		fmt.Fprintf(a.ss, "\r\n[consoled: %s]\r\n%s", strings.ReplaceAll(text, "\n", "\r\n"), a.asking.again())
	} else {
		fmt.Fprintf(a.ss.Stderr(), "consoled: %s\n", text)
	}
}

// echo writes to an interactive client without a frame (prompt typing).
func (a *attachment) echo(s string) {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	io.WriteString(a.ss, s)
}

// input reads the client's keystrokes until EOF or the disconnect escape.
func (a *attachment) input() inputEnd {
	var esc *escape.Parser
	if a.pty {
		esc = escape.NewParser(a.esc)
	}
	buf := make([]byte, 4096)
	detach := false
	for !detach {
		n, err := a.ss.Read(buf)
		if n > 0 {
			a.lastKey.Store(time.Now().UnixNano())
		}
		p := buf[:n]
		for len(p) > 0 && a.intercept != nil {
			if a.intercept(p[0]) {
				a.intercept = nil
			}
			p = p[1:]
		}
		if len(p) > 0 {
			if esc == nil {
				a.send(p)
			} else {
				esc.Feed(p, a.send, func(c, arg byte) {
					if a.escape(c, arg) {
						detach = true
					}
				})
			}
		}
		if err != nil {
			if err != io.EOF {
				a.s.log.Debug("reading from client", "err", err)
			}
			return inputEOF
		}
	}
	return inputDetach
}

// send writes keystrokes to the console, warning once when they go nowhere.
// The reports a viewer's terminal sends in answer to the machine's live
// queries (ash's ESC[6n) are not typing: they are dropped unannounced.
func (a *attachment) send(p []byte) {
	if !a.cs.Writer() || a.cs.Access() != frontend.ReadWrite {
		n := len(p)
		p = termsafe.StripReports(p)
		if !a.pty && len(p) < n { // a script typed them: they count as not sent
			a.in.drop(n-len(p), nil)
		}
		if len(p) == 0 {
			return
		}
	}
	_, err := a.in.send(p, a.cs.Write)
	var d *frontend.DeniedError
	switch {
	case err == nil:
		a.warnedRO, a.warnedDown = false, false
	case errors.As(err, &d):
		if !a.warnedRO {
			a.warnedRO = true
			a.notice("read-only: you may watch " + a.cs.Name() + ", not type on it; keystrokes are not sent")
		}
	case errors.Is(err, mux.ErrReadOnly):
		if !a.warnedRO {
			a.warnedRO = true
			if a.pty {
				a.notice(fmt.Sprintf("read-only: keystrokes not sent; %sa takes write access when free, %sf forces it", a.escStr, a.escStr))
			} else {
				a.notice("read-only: input discarded")
			}
		}
	case errors.Is(err, mux.ErrNotUp):
		if !a.warnedDown {
			a.warnedDown = true
			a.notice("console is not connected: keystrokes dropped")
		}
	case errors.Is(err, errSessionOver):
	default:
		a.notice("sending to console: " + err.Error())
	}
}
