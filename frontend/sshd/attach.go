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
	"consoled/internal/cmdargs"
	"consoled/mux"
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
	con *consoleRef
	cl  *mux.Client
	pty bool
	// The escape prefix as the session started with it: a reload changes
	// it for new sessions only.
	esc    []byte
	escStr string

	wmu     sync.Mutex   // one writer to the SSH channel at a time
	lastOut atomic.Int64 // unix nanos of the last output sent

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
func (s *Server) attach(ss *session, con *consoleRef) int {
	a0, err := cmdargs.Parse(ss.args[1:], nil, []string{"force", "spy"})
	if err != nil || len(a0.Pos) > 0 {
		fmt.Fprintf(ss.Stderr(), "usage: %s [--force|--spy]\n", con.Name())
		return 2
	}
	force, spy := a0.Flags["force"] != "", a0.Flags["spy"] != ""
	if force && con.access != frontend.ReadWrite {
		return s.refuse(ss, con.Name(), "takeover", "attach --force", "read-only access")
	}
	_, winch, pty := ss.Pty()
	if pty {
		go func() { // window size changes: the console's size is fixed (closed with the session)
			for range winch {
			}
		}()
	}
	a := &attachment{s: s, ss: ss, con: con, pty: pty, esc: s.pol().Escape}
	a.escStr = caret(a.esc)
	a.cl = con.Attach(ss.user, ss.RemoteAddr().String(), con.access == frontend.ReadWrite && !spy)
	if force && !a.cl.Writer() {
		prev, _ := a.cl.TakeWrite(true)
		s.audit(ss, con.Name(), "takeover", "from "+prev, "ok")
	}
	mode := "ro"
	if a.cl.Writer() {
		mode = "rw"
	}
	s.audit(ss, con.Name(), "attach", mode, "ok")
	defer func() {
		a.cl.Close()
		s.audit(ss, con.Name(), "detach", "", "ok")
	}()
	s.log.Info("attached", "user", ss.user, "console", con.Name(), "from", ss.RemoteAddr().String(), "mode", mode, "pty", pty)
	a.lastOut.Store(time.Now().UnixNano())
	a.replayOnAttach()
	a.greet()

	breaks := make(chan bool, 1) // "break" requests, e.g. OpenSSH's ~B
	ss.Break(breaks)
	defer ss.Break(nil)

	pumpDone := make(chan error, 1)
	go func() { pumpDone <- a.pump(ss.ctx) }()
	inDone := make(chan inputEnd, 1)
	go func() { inDone <- a.input() }()

	for {
		select {
		case <-breaks:
			a.sendBreak(0)
		case <-a.cl.Done(): // cut off by the mux: too slow, console gone, shutdown
			a.farewell("disconnected: " + a.cl.Cause().Error())
			return 1
		case err := <-pumpDone:
			a.farewell("disconnected: " + err.Error())
			return 1
		case <-ss.ctx.Done():
			cause := context.Cause(ss.ctx)
			if errors.Is(cause, ErrShutdown) {
				a.notice("disconnected: " + cause.Error())
			}
			return 1
		case end := <-inDone:
			if end == inputDetach {
				a.notice("detached from " + con.Name())
				return 0
			}
			if !a.pty {
				a.linger(pumpDone)
			}
			return 0
		}
	}
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
			a.s.log.Info("closing connection of a client that does not read", "user", a.ss.user, "from", a.ss.RemoteAddr().String())
			conn.Close()
		}
	}
}

func (a *attachment) greet() {
	name, e := a.con.Name(), a.escStr
	switch {
	case a.cl.Writer():
		if a.pty {
			a.notice(fmt.Sprintf("attached to %s read-write; %s? for help", name, e))
		}
	case a.con.access != frontend.ReadWrite:
		a.notice(fmt.Sprintf("attached to %s read-only (you may watch this console, not type on it)", name))
	case a.cl.WriterName() == "":
		a.notice(fmt.Sprintf("attached to %s as a spy; %sa takes write access", name, e))
	case a.pty:
		a.notice(fmt.Sprintf("attached to %s read-only: %s has write access; %s? for help", name, a.cl.WriterName(), e))
	default:
		a.notice(fmt.Sprintf("attached to %s read-only: %s has write access (--force takes it); input is discarded", name, a.cl.WriterName()))
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
		if _, err := a.ss.Write(p); err != nil {
			return fmt.Errorf("writing to client: %w", err)
		}
		return nil
	}
	for {
		items, err := a.cl.Next(ctx)
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
		fmt.Fprintf(a.ss, "\r\n[consoled: %s]\r\n", strings.ReplaceAll(text, "\n", "\r\n"))
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
	var esc *EscapeParser
	if a.pty {
		esc = NewEscapeParser(a.esc)
	}
	buf := make([]byte, 4096)
	detach := false
	for !detach {
		n, err := a.ss.Read(buf)
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
func (a *attachment) send(p []byte) {
	if a.con.access != frontend.ReadWrite {
		if !a.warnedRO {
			a.warnedRO = true
			a.notice("read-only: you may watch " + a.con.Name() + ", not type on it; keystrokes are not sent")
			a.s.audit(a.ss, a.con.Name(), "type", "", "refused: read-only access")
		}
		return
	}
	_, err := a.cl.Write(p)
	switch {
	case err == nil:
		a.warnedRO, a.warnedDown = false, false
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
	default:
		a.notice("sending to console: " + err.Error())
	}
}
