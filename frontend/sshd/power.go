package sshd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"consoled/frontend"
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
	con, ok := s.lookup(ss, name)
	if !ok {
		fmt.Fprintf(ss.Stderr(), "consoled: no console %q\n", name)
		return 2
	}
	if action != "status" && con.access != frontend.ReadWrite {
		return s.refuse(ss, name, "power", action, "read-only access")
	}
	pc := con.Power()
	if pc == nil {
		fmt.Fprintf(ss.Stderr(), "consoled: console %s has no power control (add power { ipmi { ... } } to its config)\n", name)
		return 2
	}
	res, err := s.doPower(ss, con.Console, pc, action)
	if err != nil {
		fmt.Fprintf(ss.Stderr(), "consoled: %v\n", err)
		return 1
	}
	fmt.Fprintf(ss, "%s: %s\n", name, res)
	return 0
}

// doPower runs a power action and records every action that changes
// something in the console's log, with who did it.
func (s *Server) doPower(ss *session, con *mux.Console, pc mux.PowerControl, action string) (string, error) {
	ctx, cancel := context.WithTimeout(ss.ctx, 60*time.Second)
	defer cancel()
	res, err := pc.Do(ctx, action)
	s.log.Info("power", "console", con.Name(), "user", ss.user, "action", action, "result", res, "err", err)
	if action != "status" {
		result := "ok"
		if err != nil {
			result = "failed: " + oneLine(err.Error())
			con.Announce(fmt.Sprintf("power %s by %s failed: %v", action, ss.user, err))
		} else {
			con.Announce(fmt.Sprintf("power %s by %s: %s", action, ss.user, res))
		}
		s.audit(ss, con.Name(), "power", action, result)
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
		a.notice(fmt.Sprintf("power: %s!s status, !1 on, !0 off, !c cycle, !r reset", a.escStr))
		return
	}
	if action != "status" && !a.mayWrite("power", action) {
		return
	}
	pc := a.con.Power()
	if pc == nil {
		a.notice("power: " + a.con.Name() + " has no power control configured")
		return
	}
	run := func() {
		go func() {
			res, err := a.s.doPower(a.ss, a.con.Console, pc, action)
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
