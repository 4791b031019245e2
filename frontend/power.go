package frontend

import (
	"context"
	"fmt"
	"strings"
	"time"

	"consoled/mux"
)

var powerActions = map[string]bool{"status": true, "on": true, "off": true, "cycle": true, "reset": true}

// power is the `power NAME ACTION` command.
func (s *Server) power(ss *session) int {
	if len(ss.args) != 3 || !powerActions[ss.args[2]] {
		fmt.Fprintf(ss.Stderr(), "usage: power NAME status|on|off|cycle|reset\n")
		return 2
	}
	name, action := ss.args[1], ss.args[2]
	con, ok := s.opts.Consoles.Console(name)
	if !ok {
		fmt.Fprintf(ss.Stderr(), "consoled: no console %q\n", name)
		return 2
	}
	pc := s.opts.Consoles.Power(name)
	if pc == nil {
		fmt.Fprintf(ss.Stderr(), "consoled: console %s has no power control (add power { ipmi { ... } } to its config)\n", name)
		return 2
	}
	res, err := s.doPower(ss.ctx, con, pc, ss.user, action)
	if err != nil {
		fmt.Fprintf(ss.Stderr(), "consoled: %v\n", err)
		return 1
	}
	fmt.Fprintf(ss, "%s: %s\n", name, res)
	return 0
}

// doPower runs a power action and records every action that changes
// something in the console's log, with who did it.
func (s *Server) doPower(ctx context.Context, con *mux.Console, pc PowerControl, user, action string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	res, err := pc.Do(ctx, action)
	s.log.Info("power", "console", con.Name(), "user", user, "action", action, "result", res, "err", err)
	if action != "status" {
		if err != nil {
			con.Announce(fmt.Sprintf("power %s by %s failed: %v", action, user, err))
		} else {
			con.Announce(fmt.Sprintf("power %s by %s: %s", action, user, res))
		}
	}
	return res, err
}

// powerKeys maps the key after the power escape to an action.
var powerKeys = map[byte]string{'s': "status", '1': "on", '0': "off", 'c': "cycle", 'r': "reset"}

// powerEscape handles ^Ec! KEY. Actions other than status ask first; the
// answer is the next key typed.
func (a *attachment) powerEscape(key byte) {
	action, ok := powerKeys[key]
	if !ok {
		a.notice(fmt.Sprintf("power: %s!s status, !1 on, !0 off, !c cycle, !r reset", a.s.opts.EscapeStr))
		return
	}
	pc := a.s.opts.Consoles.Power(a.con.Name())
	if pc == nil {
		a.notice("power: " + a.con.Name() + " has no power control configured")
		return
	}
	if action != "status" && !a.cl.Writer() {
		a.notice("power: read-only; take write access first (" + a.s.opts.EscapeStr + "a)")
		return
	}
	run := func() {
		go func() {
			res, err := a.s.doPower(a.ss.ctx, a.con, pc, a.ss.user, action)
			if err != nil {
				a.notice("power " + action + " failed: " + err.Error())
			} else if action == "status" {
				a.notice(a.con.Name() + ": " + res)
			}
		}()
	}
	if action == "status" {
		run()
		return
	}
	a.prompt(fmt.Sprintf("power %s %s? [y/N] ", action, a.con.Name()), func(answer byte) {
		if strings.ContainsRune("yY", rune(answer)) {
			run()
		} else {
			a.notice("power " + action + " cancelled")
		}
	})
}

// prompt asks a question; the next key typed goes to answer instead of the
// console.
func (a *attachment) prompt(question string, answer func(byte)) {
	a.wmu.Lock()
	fmt.Fprintf(a.ss, "\r\n[consoled: %s", question)
	a.wmu.Unlock()
	a.pending = answer
}
