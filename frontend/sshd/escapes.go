package sshd

import (
	"fmt"
	"strings"
	"time"

	"consoled/frontend"
	"consoled/frontend/escape"
	"consoled/termsafe"
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
			a.notice(escape.BreakList(e, a.s.pol().Breaks))
		case arg >= '0' && arg <= '9':
			a.sendBreak(int(arg - '0'))
		default:
			a.notice(fmt.Sprintf("no break sequence %q; %sl? lists them", printable(arg), e))
		}
	case 'a':
		_, err := a.cs.TakeWrite(false)
		switch {
		case a.refused("attach rw", err):
		case err != nil:
			a.notice(err.Error() + "; " + e + "f forces")
		default:
			a.notice("attached read-write")
		}
	case 'f':
		prev, err := a.cs.TakeWrite(true)
		switch {
		case a.refused("takeover force", err):
		case err != nil:
			a.notice("taking write access: " + err.Error())
		case prev != "" && prev != a.ss.id.User:
			a.notice("attached read-write; " + prev + " is now read-only")
		default:
			a.notice("attached read-write")
		}
	case 's':
		a.cs.DropWrite()
		a.notice("now read-only (spy)")
	case 'w':
		clients, err := a.cs.Who()
		if err != nil {
			a.notice("who: " + err.Error())
			break
		}
		var b strings.Builder
		for _, ci := range clients {
			b.WriteString("\n  " + whoLine(ci))
		}
		a.notice("on " + a.cs.Name() + ":" + b.String())
	case 'r':
		a.replay(20)
	case 'p':
		a.replay(60)
	case 'n':
		a.note()
	case '!':
		a.powerEscape(arg)
	case 'x':
		st := a.cs.Console().Status()
		detail := st.Detail
		if detail == "" {
			detail = st.Kind
		}
		a.notice(fmt.Sprintf("%s: %s; %s since %s", a.cs.Name(), detail, st.State, st.Since.UTC().Format(time.RFC3339)))
	case '?':
		a.notice(strings.Join([]string{"escapes:",
			"  " + e + ".   disconnect",
			"  " + e + "l0  send BREAK; " + e + "l1..l9 send a break sequence, " + e + "l? lists them",
			"  " + e + "a   take write access if nobody, or you in another session, has it",
			"  " + e + "f   force write access",
			"  " + e + "s   give up write access (spy)",
			"  " + e + "w   who is on this console",
			"  " + e + "r   replay the last 20 lines; " + e + "p the last 60",
			"  " + e + "n   write a note into the console's log",
			"  " + e + "x   how this console is connected (line settings)",
			"  " + e + "!s  power status; !1 on, !0 off, !c cycle, !r reset (asked first)",
			"  " + e + "!b  boot device for the next boot: then p pxe, d disk, b bios, c cdrom",
			"  " + e + e + " send " + escape.Caret(a.esc[:1]) + " itself",
		}, "\n"))
	default:
		a.notice(fmt.Sprintf("unknown escape %s%s; %s? for help", e, escape.Caret([]byte{c}), e))
	}
	return false
}

// refused tells the user that the policy refused what (e.g. "break
// BREAK"); it reports whether err was such a refusal.
func (a *attachment) refused(what string, err error) bool {
	text, ok := frontend.Refusal(what, err, a.cs.Name())
	if ok {
		a.notice(text)
	}
	return ok
}

// sendBreak sends a BREAK (n = 0) or break sequence n.
func (a *attachment) sendBreak(n int) {
	a.notice(escape.BreakOutcome(n, a.cs.Break(a.ss.ctx, n), a.cs.Name(), a.escStr))
}

// replay shows the last n lines the console printed.
func (a *attachment) replay(n int) {
	b, err := a.cs.Recent(n)
	if err != nil {
		a.notice("replay: " + err.Error())
		return
	}
	text := strings.ReplaceAll(strings.ReplaceAll(string(termsafe.Replay(b)), "\r\n", "\n"), "\n", "\r\n")
	a.notice(fmt.Sprintf("last %d lines of %s:", n, a.cs.Name()))
	a.echo(text)
	a.notice("end of replay")
}

// note asks for a line of text and writes it into the console's log.
func (a *attachment) note() {
	var line []byte
	a.echo("\r\n[consoled: note for " + a.cs.Name() + "'s log (Enter to save, ^C to cancel): ")
	a.intercept = func(b byte) bool {
		switch {
		case b == '\r' || b == '\n':
			a.echo("]\r\n")
			if len(line) > 0 {
				if err := a.cs.Note(string(line)); err != nil {
					a.notice("note not saved: " + err.Error())
				} else {
					a.notice("note saved")
				}
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

// powerEscape handles ^Ec! KEY. Actions other than status ask first; the
// answer is the next key typed.
func (a *attachment) powerEscape(key byte) {
	if key == 'b' {
		a.bootEscape()
		return
	}
	action, ok := escape.PowerKeys[key]
	if !ok {
		a.notice(fmt.Sprintf("power: %s!s status, !1 on, !0 off, !c cycle, !r reset, !b boot device", a.escStr))
		return
	}
	if action != "status" && a.refused("power "+action, a.cs.MayWrite("power", action)) {
		return
	}
	if a.cs.Console().Power() == nil {
		a.notice("power: " + a.cs.Name() + " has no power control configured")
		return
	}
	run := func() { // decided again as it runs: the answer may come after a reload
		go func() {
			res, err := a.cs.Power(a.ss.ctx, action)
			switch {
			case a.refused("power "+action, err):
			case err != nil:
				a.notice("power " + action + " failed: " + err.Error())
			case action == "status":
				a.notice(a.cs.Name() + ": " + res)
			}
		}()
	}
	if action == "status" {
		run()
		return
	}
	a.prompt(fmt.Sprintf("power %s %s? [y/N] ", action, a.cs.Name()), func(answer byte) {
		if strings.ContainsRune("yY", rune(answer)) {
			run()
		} else {
			a.notice("power " + action + " cancelled")
		}
	})
}

func printable(b byte) byte {
	if b < 0x20 || b >= 0x7f {
		return '?'
	}
	return b
}

// bootKeys are the keys after ^Ec!b.
var bootKeys = map[byte]string{'p': "pxe", 'd': "disk", 'b': "bios", 'c': "cdrom"}

// bootEscape asks for the boot device of the next boot (^Ec!b, then a
// letter) and sets it.
func (a *attachment) bootEscape() {
	if a.refused("bootdev", a.cs.MayWrite("bootdev", "")) {
		return
	}
	a.prompt("boot device for the next boot of "+a.cs.Name()+": p pxe, d disk, b bios, c cdrom? ", func(answer byte) {
		dev, ok := bootKeys[answer]
		if !ok {
			a.notice("boot device not changed")
			return
		}
		go func() {
			res, err := a.cs.BootDevice(a.ss.ctx, dev, false, false)
			switch {
			case a.refused("bootdev", err):
			case err != nil:
				a.notice("boot device " + dev + " not set: " + err.Error())
			default:
				a.notice(a.cs.Name() + ": " + res)
			}
		}()
	})
}
