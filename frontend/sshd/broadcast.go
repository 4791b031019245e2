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

	"consoled/consoleset"
	"consoled/frontend"
	"consoled/frontend/escape"
	"consoled/internal/cmdargs"
	"consoled/mux"
	"consoled/termsafe"
)

// partialAfter is how long a console must be quiet before a line it left
// open (a prompt, a menu) is shown in a broadcast session.
const partialAfter = 300 * time.Millisecond

// group is one SSH session over every console of a set (ssh -t
// console@gw @rack12): their output line by line, prefixed with the
// console's name, and keystrokes to every console the user may write.
type group struct {
	s      *Server
	ss     *session
	g      *frontend.Group
	pty    bool
	colour map[string]string // SGR per console; nil: no colours
	esc    []byte
	escStr string

	wmu     sync.Mutex
	lastOut atomic.Int64 // unix nanos of the last output shown
	lastKey atomic.Int64 // unix nanos of the last keystroke read

	warned map[string]string // input goroutine: console -> why keys did not reach it, told once
}

// broadcast runs SET [--force|--spy].
func (s *Server) broadcast(ss *session) int {
	set := ss.args[0]
	a0, err := cmdargs.Parse(ss.args[1:], nil, []string{"force", "spy"})
	if err != nil || len(a0.Pos) > 0 {
		fmt.Fprintf(ss.Stderr(), "usage: SET [--force|--spy]\n")
		return 2
	}
	mode := frontend.Write
	switch {
	case a0.Flags["force"] != "":
		mode = frontend.Force
	case a0.Flags["spy"] != "":
		mode = frontend.Watch
	}
	g, err := s.core.AttachSet(ss.id, set, mode)
	switch {
	case errors.Is(err, consoleset.ErrSyntax), errors.Is(err, frontend.ErrNoMatch):
		fmt.Fprintf(ss.Stderr(), "consoled: %v\n", err)
		return 2
	case err != nil:
		return s.fail(ss, "broadcast", set, err)
	}
	defer g.Close()
	p, winch, pty := ss.Pty()
	if pty {
		go func() {
			for range winch {
			}
		}()
	}
	b := &group{s: s, ss: ss, g: g, pty: pty, esc: s.pol().Escape, warned: map[string]string{}}
	b.escStr = escape.Caret(b.esc)
	if pty && p.Term != "" && p.Term != "dumb" {
		b.colour = map[string]string{}
		for i, cs := range g.Sessions {
			b.colour[cs.Name()] = palette[i%len(palette)]
		}
	}
	s.log.Info("attached to a set", "user", ss.id.User, "set", set, "consoles", len(g.Sessions), "from", ss.id.From, "pty", pty)
	b.greet()

	ctx, cancel := context.WithCancel(ss.ctx)
	defer cancel()
	b.lastOut.Store(time.Now().UnixNano())
	linesDone := make(chan struct{})
	go func() { g.Lines(ctx, partialAfter, b.show); close(linesDone) }()
	l, stop := ss.startLoop(b.input, b.idleWatch)
	defer stop()
	for {
		select {
		case d := <-l.idle:
			return ss.idled(b.notice, d)
		case <-l.breaks: // OpenSSH's ~B: BREAK to all
			b.results(g.Break(ss.ctx, 0))
		case <-linesDone:
			if ss.ctx.Err() == nil {
				b.notice("disconnected: no console of " + set + " is attached any more")
			}
			ss.told = true
			return 1
		case <-ss.ctx.Done():
			ss.ended(b.notice)
			return 1
		case end := <-l.input:
			if end == inputDetach {
				b.notice("detached from " + set)
				return 0
			}
			if !pty {
				b.linger(linesDone)
			}
			return 0
		}
	}
}

// palette colours the consoles' names: red, green, yellow, blue, magenta,
// cyan, then their bright forms.
var palette = []string{"31", "32", "33", "34", "35", "36", "91", "92", "93", "94", "95", "96"}

func (b *group) greet() {
	if motd := b.s.pol().Motd; motd != "" && b.pty {
		b.notice(motd)
	}
	var parts []string
	writers := 0
	for _, cs := range b.g.Sessions {
		switch {
		case cs.Writer():
			writers++
			parts = append(parts, cs.Name()+" rw")
		case cs.Access() != frontend.ReadWrite:
			parts = append(parts, cs.Name()+" ro")
		case cs.WriterName() != "":
			parts = append(parts, cs.Name()+" ro ("+cs.WriterName()+" writes)")
		default:
			parts = append(parts, cs.Name()+" spy")
		}
	}
	for _, m := range b.g.Missing {
		parts = append(parts, m.Console+": "+why(m.Err))
	}
	help := ""
	if b.pty {
		help = "; " + b.escStr + "? for help"
	}
	b.notice(fmt.Sprintf("attached to %d consoles: %s; keys go to %d of them%s",
		len(b.g.Sessions), strings.Join(parts, ", "), writers, help))
}

// show writes one line of a console's output, or a notice about it.
func (b *group) show(l frontend.Line) {
	if l.Notice != "" {
		b.notice(l.Console + ": " + l.Notice)
		return
	}
	name := l.Console
	if c := b.colour[name]; c != "" {
		name = "\x1b[" + c + "m" + name + "\x1b[0m"
	}
	nl := "\n"
	if b.pty {
		nl = "\r\n"
	}
	text := flatLine(l.Text)
	if b.colour != nil && strings.Contains(text, "\x1b") {
		text += "\x1b[0m"
	}
	b.wmu.Lock()
	io.WriteString(b.ss, name+": "+text+nl)
	b.wmu.Unlock()
	b.lastOut.Store(time.Now().UnixNano())
}

// notice tells the user something: on a line of its own in a terminal,
// on stderr for scripts.
func (b *group) notice(text string) {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if b.pty {
		fmt.Fprintf(b.ss, "[consoled: %s]\r\n", strings.ReplaceAll(text, "\n", "\r\n"))
	} else {
		fmt.Fprintf(b.ss.Stderr(), "consoled: %s\n", text)
	}
}

// results tells the outcome of an action on each console.
func (b *group) results(res []frontend.Result) {
	var lines []string
	for _, r := range res {
		out := r.Out
		if r.Err != nil {
			out = why(r.Err)
		}
		lines = append(lines, "  "+r.Console+": "+out)
	}
	b.notice(strings.Join(append([]string{"on each console:"}, lines...), "\n"))
}

// linger keeps a script's output flowing after its stdin ended, until
// every console is quiet for rawIdle (at most rawMaxLinger).
func (b *group) linger(done <-chan struct{}) {
	start := time.Now()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for time.Since(start) < rawMaxLinger {
		select {
		case <-done:
			return
		case <-t.C:
			if time.Since(time.Unix(0, b.lastOut.Load())) >= rawIdle+partialAfter {
				return
			}
		}
	}
}

// input reads keystrokes and sends them, as typed, to every console.
func (b *group) input() inputEnd {
	var esc *escape.Parser
	if b.pty {
		esc = escape.NewParser(b.esc)
	}
	buf := make([]byte, 4096)
	detach := false
	for !detach {
		n, err := b.ss.Read(buf)
		if n > 0 {
			b.lastKey.Store(time.Now().UnixNano())
			if esc == nil {
				b.send(buf[:n])
			} else {
				esc.Feed(buf[:n], b.send, func(c, arg byte) {
					if b.escape(c, arg) {
						detach = true
					}
				})
			}
		}
		if err != nil {
			return inputEOF
		}
	}
	return inputDetach
}

// send types p on every console the user writes; a console it does not
// reach is told once, until keys reach it again.
func (b *group) send(p []byte) {
	failed := map[string]error{}
	for _, r := range b.g.Write(p) {
		failed[r.Console] = r.Err
	}
	for _, cs := range b.g.Sessions {
		err, ok := failed[cs.Name()]
		if !ok {
			delete(b.warned, cs.Name())
			continue
		}
		reason := "console is not connected: keys dropped"
		switch {
		case errors.As(err, new(*frontend.DeniedError)):
			reason = "read-only: you may watch it, not type on it; keys not sent"
		case errors.Is(err, mux.ErrReadOnly):
			reason = "keys not sent: " + cs.WriterName() + " has write access"
			if cs.WriterName() == "" {
				reason = "keys not sent: you gave up write access"
			}
		case errors.Is(err, mux.ErrNotUp):
		default:
			reason = "keys not sent: " + err.Error()
		}
		if b.warned[cs.Name()] != reason {
			b.warned[cs.Name()] = reason
			b.notice(cs.Name() + ": " + reason)
		}
	}
}

// escape runs one escape command on every console; true disconnects.
func (b *group) escape(c, arg byte) bool {
	e := b.escStr
	switch c {
	case '.':
		return true
	case 'l':
		if arg < '0' || arg > '9' {
			b.notice(fmt.Sprintf("no break sequence %q; %sl0 sends BREAK to all", printable(arg), e))
			break
		}
		b.results(b.g.Break(b.ss.ctx, int(arg-'0')))
	case 'a', 'f':
		b.results(b.g.TakeWrite(c == 'f'))
	case 's':
		b.g.DropWrite()
		b.notice("now read-only on every console (spy)")
	case 'w':
		var lines []string
		for _, cs := range b.g.Sessions {
			clients, err := cs.Who()
			if err != nil {
				lines = append(lines, "  "+cs.Name()+": "+why(err))
				continue
			}
			for _, ci := range clients {
				lines = append(lines, "  "+cs.Name()+": "+whoLine(ci))
			}
		}
		b.notice(strings.Join(append([]string{"who:"}, lines...), "\n"))
	case '?':
		b.notice(strings.Join([]string{"escapes (on every console of the set):",
			"  " + e + ".   disconnect",
			"  " + e + "l0  send BREAK to all; " + e + "l1..l9 a break sequence",
			"  " + e + "a   take write access where nobody has it; " + e + "f force it",
			"  " + e + "s   give up write access (spy)",
			"  " + e + "w   who is on each console",
			"  " + e + e + " send " + escape.Caret(b.esc[:1]) + " itself",
		}, "\n"))
	default:
		b.notice(fmt.Sprintf("%s%s is not available over a set (attach to one console for it); %s? for help", e, escape.Caret([]byte{c}), e))
	}
	return false
}

// flatLine is a console's line as a broadcast shows it, on one line of
// the user's terminal: text and colours (SGR) only. Terminal queries go
// (termsafe.Replay), and so do cursor movement and erasing, carriage
// returns and backspaces, which would overwrite other consoles' lines.
func flatLine(p []byte) string {
	p = termsafe.Replay(p)
	var out strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == 0x1b && i+1 < len(p) && p[i+1] == '[':
			j := i + 2
			for j < len(p) && (p[j] < 0x40 || p[j] > 0x7e) {
				j++
			}
			if j < len(p) && p[j] == 'm' {
				out.Write(p[i : j+1])
			}
			i = j
		case c == 0x1b:
			i++ // a two-byte escape Replay kept (none change the line's text)
		case c == '\t' || c >= 0x20 && c != 0x7f:
			out.WriteByte(c)
		}
	}
	return out.String()
}

// idleWatch is the attachment's for a broadcast session: the shortest
// idle_timeout of its consoles; keystrokes only once it writes anywhere.
func (b *group) idleWatch() (<-chan time.Duration, func()) {
	if !b.pty {
		return nil, func() {}
	}
	var timeout time.Duration
	for _, cs := range b.g.Sessions {
		if d := b.s.pol().IdleTimeoutOf(cs.Name()); d > 0 && (timeout == 0 || d < timeout) {
			timeout = d
		}
	}
	writes := func() bool {
		for _, cs := range b.g.Sessions {
			if cs.Writer() {
				return true
			}
		}
		return false
	}
	return watchIdle(timeout, &b.lastKey, &b.lastOut, writes)
}
