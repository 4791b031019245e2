package sshd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"consoled/frontend"
	"consoled/internal/cmdargs"
)

// bmcFail is fail for the BMC commands: no BMC is exit 1 with the reason.
func (s *Server) bmcFail(ss *session, what, name string, err error) int {
	if errors.Is(err, frontend.ErrNoBMC) {
		fmt.Fprintf(ss.Stderr(), "consoled: console %s: %v\n", name, err)
		return 1
	}
	return s.fail(ss, what, name, err)
}

const bootdevUsage = "usage: bootdev NAME|SET pxe|disk|bios|cdrom [--persistent] [--efi] [--yes]"

// bootdev: bootdev NAME|SET DEVICE [--persistent] [--efi] [--yes].
func (s *Server) bootdev(ss *session) int {
	a, err := cmdargs.Parse(ss.args[1:], nil, []string{"persistent", "efi", "yes"})
	if err != nil || len(a.Pos) != 2 || !frontend.BootDevices[a.Pos[1]] {
		fmt.Fprintln(ss.Stderr(), bootdevUsage)
		return 2
	}
	name, dev := a.Pos[0], a.Pos[1]
	persistent, efi := a.Flags["persistent"] != "", a.Flags["efi"] != ""
	set := func(ctx context.Context, n string) (string, error) {
		return s.core.BootDevice(ctx, ss.id, n, dev, persistent, efi)
	}
	if frontend.IsSet(name) {
		names, code := s.selectSet(ss, name)
		if names == nil {
			return code
		}
		if ok, code := s.confirm(ss, "bootdev "+dev, names, a.Flags["yes"] != ""); !ok {
			return code
		}
		return s.results(ss, "bootdev", frontend.Each(ss.ctx, names, set))
	}
	res, err := set(ss.ctx, name)
	if err != nil {
		return s.bmcFail(ss, "bootdev", name, err)
	}
	fmt.Fprintf(ss.out(), "%s: %s\n", name, res)
	return 0
}

// sel: sel NAME [--clear [--yes]] lists the BMC's System Event Log, or
// clears it (rw access; asked first in a terminal, --yes in a script).
func (s *Server) sel(ss *session) int {
	a, err := cmdargs.Parse(ss.args[1:], nil, []string{"clear", "yes"})
	if err != nil || len(a.Pos) != 1 {
		fmt.Fprintln(ss.Stderr(), "usage: sel NAME [--clear [--yes]]")
		return 2
	}
	name := a.Pos[0]
	if a.Flags["clear"] != "" {
		if err := s.confirmOne(ss, "clear the BMC event log of "+name, a.Flags["yes"] != ""); err != 0 {
			return err
		}
		if err := s.core.ClearEvents(ss.ctx, ss.id, name); err != nil {
			return s.bmcFail(ss, "sel --clear", name, err)
		}
		fmt.Fprintf(ss.out(), "%s: BMC event log cleared\n", name)
		return 0
	}
	evs, err := s.core.Events(ss.ctx, ss.id, name)
	if err != nil {
		return s.bmcFail(ss, "sel", name, err)
	}
	w := ss.out()
	for _, ev := range evs {
		when := "-"
		if !ev.Time.IsZero() {
			when = ev.Time.Format(time.RFC3339)
		}
		dir := "Deasserted"
		if ev.Asserted {
			dir = "Asserted"
		}
		crit := ""
		if ev.Critical {
			crit = " (critical)"
		}
		fmt.Fprintf(w, "%4d | %s | %s | %s | %s%s\n", ev.ID, when, ev.Sensor, ev.Event, dir, crit)
	}
	return 0
}

// confirmOne asks before a destructive action on one console: y in a
// terminal, --yes (yes) in a script. It returns 0 to go on, else the exit
// status.
func (s *Server) confirmOne(ss *session, what string, yes bool) int {
	if yes {
		return 0
	}
	if ok, code := s.ask(ss, what, what); !ok {
		return code
	}
	return 0
}

// powerPXE: power NAME|SET on|cycle|reset --pxe sets PXE for the next boot,
// then runs the action.
func (s *Server) powerPXE(ss *session, name, action string, yes bool) int {
	if action != "on" && action != "cycle" && action != "reset" {
		fmt.Fprintf(ss.Stderr(), "consoled: --pxe goes with power on, cycle or reset\n")
		return 2
	}
	do := func(ctx context.Context, n string) (string, error) {
		return s.core.PowerBoot(ctx, ss.id, n, action, "pxe")
	}
	if frontend.IsSet(name) {
		names, code := s.selectSet(ss, name)
		if names == nil {
			return code
		}
		if ok, code := s.confirm(ss, "power "+action+" --pxe", names, yes); !ok {
			return code
		}
		return s.results(ss, "power "+action+" --pxe", frontend.Each(ss.ctx, names, do))
	}
	res, err := do(ss.ctx, name)
	switch {
	case errors.Is(err, frontend.ErrNoPower):
		fmt.Fprintf(ss.Stderr(), "consoled: console %s has no power control (add power { ipmi { ... } } to its config)\n", name)
		return 1
	case err != nil:
		return s.bmcFail(ss, "power "+action+" --pxe", name, err)
	}
	fmt.Fprintf(ss.out(), "%s: %s\n", name, res)
	return 0
}
