package web

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"consoled/frontend"
	"consoled/frontend/escape"
)

// action is what the page asks for in a JSON text message.
type action struct {
	Op        string `json:"op"` // take, force, drop, break, replay, who, power, note, resize
	N         int    `json:"n,omitempty"`
	Action    string `json:"action,omitempty"`    // power
	Confirmed bool   `json:"confirmed,omitempty"` // power: the user said yes
	Text      string `json:"text,omitempty"`      // note
	Cols      int    `json:"cols,omitempty"`
	Rows      int    `json:"rows,omitempty"`
}

// do carries out one action of the page's buttons; each is decided by the
// core as it happens, as over SSH.
func (t *term) do(a action) {
	switch a.Op {
	case "take":
		t.take(false)
	case "force":
		t.take(true)
	case "drop":
		t.cs.DropWrite()
		t.notice("now read-only (spy)")
	case "break":
		t.sendBreak(a.N)
	case "replay":
		n := a.N
		if n <= 0 || n > 1000 {
			n = 20
		}
		t.replay(n, true)
	case "who":
		t.who()
	case "power":
		t.power(a.Action, a.Confirmed)
	case "note":
		if text := strings.TrimSpace(a.Text); text != "" {
			if err := t.cs.Note(frontend.OneLine(text)); err != nil {
				t.notice("note not saved: " + err.Error())
			} else {
				t.notice("note saved")
			}
		}
	case "resize":
		// As over SSH: the console's size is the machine's, fixed; the
		// page fits its terminal to the window by itself.
	default:
		t.notice(fmt.Sprintf("unknown action %q", a.Op))
	}
	t.sendState()
}

// escape runs an escape typed in the terminal, as over SSH (^Ec. ends the
// terminal before it gets here).
func (t *term) escape(c, arg byte) {
	e := escape.Caret(t.esc)
	switch c {
	case 'l':
		if arg >= '0' && arg <= '9' {
			t.sendBreak(int(arg - '0'))
		} else {
			t.notice(escape.BreakList(e, t.s.core.Policy().Breaks))
		}
	case 'a':
		t.take(false)
	case 'f':
		t.take(true)
	case 's':
		t.do(action{Op: "drop"})
	case 'w':
		t.who()
	case 'r':
		t.replay(20, true)
	case 'p':
		t.replay(60, true)
	case 'n':
		t.sendJSON(map[string]string{"t": "ask", "kind": "note", "text": "note for " + t.cs.Name() + "'s log:"})
	case '!':
		if action, ok := escape.PowerKeys[arg]; ok {
			t.power(action, false)
		} else {
			t.notice(fmt.Sprintf("power: %s!s status, !1 on, !0 off, !c cycle, !r reset", e))
		}
	case '?':
		t.notice(strings.Join([]string{"escapes (the buttons above do the same):",
			"  " + e + ".   disconnect this terminal",
			"  " + e + "l0  send BREAK; " + e + "l1..l9 send a break sequence, " + e + "l? lists them",
			"  " + e + "a   take write access if nobody, or you in another session, has it; " + e + "f force it; " + e + "s give it up",
			"  " + e + "w   who is on this console",
			"  " + e + "r   replay the last 20 lines; " + e + "p the last 60",
			"  " + e + "n   write a note into the console's log",
			"  " + e + "!s  power status; !1 on, !0 off, !c cycle, !r reset (asked first)",
		}, "\n"))
	default:
		t.notice(fmt.Sprintf("unknown escape %s%s; %s? for help", e, escape.Caret([]byte{c}), e))
	}
	t.sendState()
}

// refused tells the user the policy refused what; it reports whether err
// was such a refusal.
func (t *term) refused(what string, err error) bool {
	text, ok := frontend.Refusal(what, err, t.cs.Name())
	if ok {
		t.notice(text)
	}
	return ok
}

func (t *term) take(force bool) {
	prev, err := t.cs.TakeWrite(force)
	what := "take write access"
	if force {
		what = "force write access"
	}
	switch {
	case t.refused(what, err):
	case err != nil:
		t.notice(err.Error() + "; Force write (" + escape.Caret(t.esc) + "f) takes it")
	case prev != "" && prev != t.user:
		t.notice("attached read-write; " + prev + " is now read-only")
	default:
		t.notice("attached read-write")
	}
}

// sendBreak sends a BREAK (n = 0) or break sequence n.
func (t *term) sendBreak(n int) {
	t.notice(escape.BreakOutcome(n, t.cs.Break(t.ctx, n), t.cs.Name(), escape.Caret(t.esc)))
}

func (t *term) who() {
	clients, err := t.cs.Who()
	if err != nil {
		t.notice("who: " + err.Error())
		return
	}
	var b strings.Builder
	for _, ci := range clients {
		mode := "ro"
		if ci.Writer {
			mode = "rw"
		}
		fmt.Fprintf(&b, "\n  %-12s %s since %s from %s", ci.Who, mode, ci.Since.UTC().Format(time.RFC3339), ci.From)
	}
	t.notice("on " + t.cs.Name() + ":" + b.String())
}

// power runs a power action; all but status are asked about first (the
// page shows a confirmation and sends the action again, confirmed).
func (t *term) power(action string, confirmed bool) {
	if !frontend.PowerActions[action] {
		t.notice(fmt.Sprintf("unknown power action %q (status, on, off, cycle, reset)", action))
		return
	}
	if action != "status" && !confirmed {
		if t.refused("power "+action, t.cs.MayWrite("power", action)) {
			return
		}
		t.sendJSON(map[string]string{"t": "ask", "kind": "power", "action": action,
			"text": fmt.Sprintf("power %s %s?", action, t.cs.Name())})
		return
	}
	go func() { // a power action takes seconds: typing goes on meanwhile
		res, err := t.cs.Power(t.ctx, action)
		switch {
		case errors.Is(err, frontend.ErrNoPower):
			t.notice("power: " + t.cs.Name() + " has no power control configured")
		case t.refused("power "+action, err):
		case err != nil:
			t.notice("power " + action + " failed: " + err.Error())
		case action == "status":
			t.notice(t.cs.Name() + ": " + res)
		}
	}()
}
