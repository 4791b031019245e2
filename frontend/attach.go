package frontend

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

	"consoled/backend"
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
	con *mux.Console
	cl  *mux.Client
	pty bool

	wmu     sync.Mutex   // one writer to the SSH channel at a time
	lastOut atomic.Int64 // unix nanos of the last output sent

	warnedRO, warnedDown bool       // input goroutine only
	pending              func(byte) // input goroutine only: a prompt awaiting its answer
}

type inputEnd int

const (
	inputEOF    inputEnd = iota // the client closed stdin or went away
	inputDetach                 // the user typed the disconnect escape
)

func (s *Server) attach(ss *session, con *mux.Console) int {
	if len(ss.args) > 1 {
		fmt.Fprintf(ss.Stderr(), "consoled: unexpected arguments after %q: %s\n", ss.args[0], strings.Join(ss.args[1:], " "))
		return 2
	}
	_, winch, pty := ss.Pty()
	go func() { // window size changes: the console's size is fixed
		for range winch {
		}
	}()
	a := &attachment{s: s, ss: ss, con: con, pty: pty}
	a.cl = con.Attach(ss.user, ss.RemoteAddr().String(), true)
	defer a.cl.Close()
	s.log.Info("attached", "user", ss.user, "console", con.Name(), "from", ss.RemoteAddr().String(),
		"rw", a.cl.Writer(), "pty", pty)
	a.lastOut.Store(time.Now().UnixNano())
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
			a.sendBreak()
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
	name := a.con.Name()
	if a.cl.Writer() {
		if a.pty {
			a.notice(fmt.Sprintf("attached to %s read-write; %s? for help", name, a.s.opts.EscapeStr))
		}
		return
	}
	who := a.cl.WriterName()
	if a.pty {
		a.notice(fmt.Sprintf("attached to %s read-only: %s has write access; %s? for help", name, who, a.s.opts.EscapeStr))
	} else {
		a.notice(fmt.Sprintf("attached to %s read-only: %s has write access; input is discarded", name, who))
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
	for {
		items, err := a.cl.Next(ctx)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.Notice != "" {
				a.notice(it.Notice)
				continue
			}
			a.wmu.Lock()
			_, err := a.ss.Write(it.Data)
			a.wmu.Unlock()
			if err != nil {
				return fmt.Errorf("writing to client: %w", err)
			}
		}
		a.lastOut.Store(time.Now().UnixNano())
	}
}

// notice tells this client something: inline in an interactive session, on
// stderr for scripts, so their stdout stays the console's bytes only.
func (a *attachment) notice(text string) {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if a.pty {
		fmt.Fprintf(a.ss, "\r\n[consoled: %s]\r\n", text)
	} else {
		fmt.Fprintf(a.ss.Stderr(), "consoled: %s\n", text)
	}
}

// input reads the client's keystrokes until EOF or the disconnect escape.
func (a *attachment) input() inputEnd {
	var esc *EscapeParser
	if a.pty {
		esc = NewEscapeParser(a.s.opts.Escape)
	}
	buf := make([]byte, 4096)
	detach := false
	for !detach {
		n, err := a.ss.Read(buf)
		p := buf[:n]
		if len(p) > 0 && a.pending != nil {
			answer := a.pending
			a.pending = nil
			a.wmu.Lock()
			fmt.Fprintf(a.ss, "%c]\r\n", printable(p[0]))
			a.wmu.Unlock()
			answer(p[0])
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
	_, err := a.cl.Write(p)
	switch {
	case err == nil:
		a.warnedRO, a.warnedDown = false, false
	case errors.Is(err, mux.ErrReadOnly):
		if !a.warnedRO {
			a.warnedRO = true
			if a.pty {
				a.notice(fmt.Sprintf("read-only: keystrokes not sent; %sa takes write access when free, %sf forces it", a.s.opts.EscapeStr, a.s.opts.EscapeStr))
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

func (a *attachment) sendBreak() {
	err := a.cl.Break()
	switch {
	case err == nil:
		a.notice("sent BREAK")
	case errors.Is(err, backend.ErrBreakUnsupported):
		a.notice("BREAK refused: " + err.Error())
	default:
		a.notice("BREAK not sent: " + err.Error())
	}
}

// escape runs one escape command; it returns true to disconnect.
func (a *attachment) escape(c, arg byte) bool {
	e := a.s.opts.EscapeStr
	switch c {
	case '.':
		return true
	case 'l':
		switch arg {
		case '0':
			a.sendBreak()
		case '?':
			a.notice(e + "l0  send BREAK")
		default:
			a.notice(fmt.Sprintf("no break sequence %q; %sl? lists them", arg, e))
		}
	case 'a':
		if _, err := a.cl.TakeWrite(false); err != nil {
			a.notice(err.Error() + "; " + e + "f forces")
		} else {
			a.notice("attached read-write")
		}
	case 'f':
		prev, _ := a.cl.TakeWrite(true)
		if prev != "" && prev != a.ss.user {
			a.notice("attached read-write; " + prev + " is now read-only")
		} else {
			a.notice("attached read-write")
		}
	case 's':
		a.cl.DropWrite()
		a.notice("now read-only (spy)")
	case 'w':
		var b strings.Builder
		for _, ci := range a.con.Clients() {
			mode := "ro"
			if ci.Writer {
				mode = "rw"
			}
			fmt.Fprintf(&b, "\r\n  %-12s %s since %s from %s", ci.Who, mode, ci.Since.UTC().Format(time.RFC3339), ci.From)
		}
		a.notice("on " + a.con.Name() + ":" + b.String())
	case '!':
		a.powerEscape(arg)
	case 'x':
		st := a.con.Status()
		detail := st.Detail
		if detail == "" {
			detail = st.Kind
		}
		a.notice(fmt.Sprintf("%s: %s; %s since %s", a.con.Name(), detail, st.State, st.Since.UTC().Format(time.RFC3339)))
	case '?':
		a.notice(strings.Join([]string{"escapes:",
			"  " + e + ".   disconnect",
			"  " + e + "l0  send BREAK (" + e + "l? lists break sequences)",
			"  " + e + "a   take write access if nobody has it",
			"  " + e + "f   force write access",
			"  " + e + "s   give up write access (spy)",
			"  " + e + "w   who is on this console",
			"  " + e + "x   how this console is connected (line settings)",
			"  " + e + "!s  power status; !1 on, !0 off, !c cycle, !r reset (asked first)",
			"  " + e + e + " send " + caret(a.s.opts.Escape[:1]) + " itself",
		}, "\r\n"))
	default:
		a.notice(fmt.Sprintf("unknown escape %s%s; %s? for help", e, caret([]byte{c}), e))
	}
	return false
}

func printable(b byte) byte {
	if b < 0x20 || b >= 0x7f {
		return '?'
	}
	return b
}
