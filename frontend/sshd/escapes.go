package sshd

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"consoled/frontend"
	"consoled/mux"
)

// escape runs one escape command; it returns true to disconnect.
func (a *attachment) escape(c, arg byte) bool {
	e := a.escStr
	switch c {
	case '.':
		return true
	case 'l':
		switch {
		case arg == '?':
			a.listBreaks()
		case arg >= '0' && arg <= '9':
			a.sendBreak(int(arg - '0'))
		default:
			a.notice(fmt.Sprintf("no break sequence %q; %sl? lists them", printable(arg), e))
		}
	case 'a':
		if !a.mayWrite("attach", "rw") {
			break
		}
		if _, err := a.cl.TakeWrite(false); err != nil {
			a.notice(err.Error() + "; " + e + "f forces")
		} else {
			a.s.audit(a.ss, a.con.Name(), "attach", "rw", "ok")
			a.notice("attached read-write")
		}
	case 'f':
		if !a.mayWrite("takeover", "force") {
			break
		}
		prev, _ := a.cl.TakeWrite(true)
		if prev != "" && prev != a.ss.user {
			a.s.audit(a.ss, a.con.Name(), "takeover", "from "+prev, "ok")
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
			fmt.Fprintf(&b, "\n  %-12s %s since %s from %s", ci.Who, mode, ci.Since.UTC().Format(time.RFC3339), ci.From)
		}
		a.notice("on " + a.con.Name() + ":" + b.String())
	case 'r':
		a.replay(20)
	case 'p':
		a.replay(60)
	case 'n':
		a.note()
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
			"  " + e + "l0  send BREAK; " + e + "l1..l9 send a break sequence, " + e + "l? lists them",
			"  " + e + "a   take write access if nobody has it",
			"  " + e + "f   force write access",
			"  " + e + "s   give up write access (spy)",
			"  " + e + "w   who is on this console",
			"  " + e + "r   replay the last 20 lines; " + e + "p the last 60",
			"  " + e + "n   write a note into the console's log",
			"  " + e + "x   how this console is connected (line settings)",
			"  " + e + "!s  power status; !1 on, !0 off, !c cycle, !r reset (asked first)",
			"  " + e + e + " send " + caret(a.esc[:1]) + " itself",
		}, "\n"))
	default:
		a.notice(fmt.Sprintf("unknown escape %s%s; %s? for help", e, caret([]byte{c}), e))
	}
	return false
}

// mayWrite refuses (and records) a write action of a read-only user.
func (a *attachment) mayWrite(action, detail string) bool {
	if a.con.access == frontend.ReadWrite {
		return true
	}
	what := action
	if detail != "" {
		what += " " + detail
	}
	a.notice(what + " refused: you have read-only access to " + a.con.Name())
	a.s.audit(a.ss, a.con.Name(), action, detail, "refused: read-only access")
	return false
}

// sendBreak sends a BREAK (n = 0) or break sequence n.
func (a *attachment) sendBreak(n int) {
	detail := "BREAK"
	if n > 0 {
		detail = fmt.Sprintf("break sequence %d", n)
	}
	if !a.mayWrite("break", detail) {
		return
	}
	if _, ok := a.s.pol().Breaks[n]; n > 0 && !ok {
		a.notice(fmt.Sprintf("no break sequence %d; %sl? lists them", n, a.escStr))
		return
	}
	err := a.s.sendSeq(a.ss.ctx, a.cl, n)
	switch {
	case err == nil:
		a.s.audit(a.ss, a.con.Name(), "break", detail, "ok")
		a.notice("sent " + detail)
	case errors.Is(err, mux.ErrBreakUnsupported):
		a.s.audit(a.ss, a.con.Name(), "break", detail, "failed: "+err.Error())
		a.notice("BREAK refused: " + err.Error())
	default:
		a.s.audit(a.ss, a.con.Name(), "break", detail, "failed: "+err.Error())
		a.notice(detail + " not sent: " + err.Error())
	}
}

func (a *attachment) listBreaks() {
	e := a.escStr
	lines := []string{"break sequences:", "  " + e + "l0  BREAK"}
	var ns []int
	for n := range a.s.pol().Breaks {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	for _, n := range ns {
		bs := a.s.pol().Breaks[n]
		lines = append(lines, fmt.Sprintf("  %sl%d  %q (pause %v)", e, n, bs.Source, bs.Delay))
	}
	a.notice(strings.Join(lines, "\n"))
}

// replay shows the last n lines the console printed.
func (a *attachment) replay(n int) {
	b, err := a.con.Recent(n)
	if err != nil {
		a.notice("replay: " + err.Error())
		return
	}
	text := strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n", "\r\n")
	a.notice(fmt.Sprintf("last %d lines of %s:", n, a.con.Name()))
	a.echo(text)
	a.notice("end of replay")
}

// note asks for a line of text and writes it into the console's log.
func (a *attachment) note() {
	var line []byte
	a.echo("\r\n[consoled: note for " + a.con.Name() + "'s log (Enter to save, ^C to cancel): ")
	a.intercept = func(b byte) bool {
		switch {
		case b == '\r' || b == '\n':
			a.echo("]\r\n")
			if len(line) > 0 {
				a.con.Note(a.ss.user, string(line))
				a.s.audit(a.ss, a.con.Name(), "note", string(line), "ok")
				a.notice("note saved")
			}
			return true
		case b == 0x03 || b == 0x1b:
			a.echo("]\r\n")
			a.notice("note cancelled")
			return true
		case b == 0x7f || b == 0x08:
			if len(line) > 0 {
				line = line[:len(line)-1]
				a.echo("\b \b")
			}
		case b >= 0x20 && b < 0x7f && len(line) < 500:
			line = append(line, b)
			a.echo(string(b))
		}
		return false
	}
}

// prompt asks a yes/no question; the next key typed is the answer.
func (a *attachment) prompt(question string, answer func(byte)) {
	a.echo("\r\n[consoled: " + question)
	a.intercept = func(b byte) bool {
		a.echo(string(printable(b)) + "]\r\n")
		answer(b)
		return true
	}
}

func printable(b byte) byte {
	if b < 0x20 || b >= 0x7f {
		return '?'
	}
	return b
}
