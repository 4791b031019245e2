package frontend

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"consoled/mux"
)

// BootDevices are the devices BootDevice knows.
var BootDevices = map[string]bool{"pxe": true, "disk": true, "bios": true, "cdrom": true}

// ErrNoBMC: the console's power control is not a BMC that can set the
// boot device or keeps an event log.
var ErrNoBMC = errors.New("no BMC configured (an ipmi console, or power { ipmi { ... } })")

// bmc finds console name's power control for id, with rw access for a
// change (action names a refusal in the audit log).
func (c *Core) bmc(id Identity, name, action, detail string, change bool) (*mux.Console, mux.PowerControl, error) {
	con, acc, err := c.lookup(id, name)
	if err != nil {
		return nil, nil, err
	}
	if change && acc != ReadWrite {
		return nil, nil, c.refuse(id, name, action, detail, "read-only access")
	}
	pc := con.Power()
	if pc == nil {
		return nil, nil, ErrNoBMC
	}
	return con, pc, nil
}

// BootDevice sets the device console name's machine boots from next (every
// boot with persistent; EFI with efi); rw access needed. It is marked in
// the console's log with who did it, and audited.
func (c *Core) BootDevice(ctx context.Context, id Identity, name, dev string, persistent, efi bool) (string, error) {
	if !BootDevices[dev] {
		return "", fmt.Errorf("unknown boot device %q (pxe, disk, bios, cdrom)", dev)
	}
	detail := dev
	if persistent {
		detail += " persistent"
	}
	if efi {
		detail += " efi"
	}
	con, pc, err := c.bmc(id, name, "bootdev", detail, true)
	if err != nil {
		return "", err
	}
	bc, ok := pc.(mux.BootControl)
	if !ok {
		return "", ErrNoBMC
	}
	ctx, cancel := context.WithTimeout(ctx, powerTimeout)
	defer cancel()
	when := "next boot"
	if persistent {
		when = "every boot"
	}
	if err := bc.BootDevice(ctx, dev, persistent, efi); err != nil {
		con.Announce(fmt.Sprintf("boot device %s by %s failed: %v", detail, id.User, err))
		c.Record(id, name, "bootdev", detail, "failed: "+OneLine(err.Error()))
		return "", err
	}
	con.Announce(fmt.Sprintf("boot device %s (%s) by %s", strings.ReplaceAll(detail, " ", ", "), when, id.User))
	c.Record(id, name, "bootdev", detail, "ok")
	return fmt.Sprintf("boot device %s for the %s", dev, when), nil
}

// PowerBoot sets the boot device for the next boot, then runs a power
// action: power NAME cycle --pxe, a machine rebuilt in one command.
func (c *Core) PowerBoot(ctx context.Context, id Identity, name, action, dev string) (string, error) {
	if !PowerActions[action] || action == "status" || action == "off" {
		return "", fmt.Errorf("a boot device goes with power on, cycle or reset, not %q", action)
	}
	boot, err := c.BootDevice(ctx, id, name, dev, false, false)
	if err != nil {
		return "", err
	}
	res, err := c.Power(ctx, id, name, action)
	if err != nil {
		return "", err
	}
	return boot + "; " + res, nil
}

// Events is console name's BMC System Event Log, oldest first (read
// access is enough).
func (c *Core) Events(ctx context.Context, id Identity, name string) ([]mux.BMCEvent, error) {
	_, pc, err := c.bmc(id, name, "sel", "", false)
	if err != nil {
		return nil, err
	}
	el, ok := pc.(mux.EventLog)
	if !ok {
		return nil, ErrNoBMC
	}
	ctx, cancel := context.WithTimeout(ctx, powerTimeout)
	defer cancel()
	return el.Events(ctx)
}

// ClearEvents erases console name's BMC System Event Log; rw access
// needed; marked and audited.
func (c *Core) ClearEvents(ctx context.Context, id Identity, name string) error {
	con, pc, err := c.bmc(id, name, "sel", "clear", true)
	if err != nil {
		return err
	}
	el, ok := pc.(mux.EventLog)
	if !ok {
		return ErrNoBMC
	}
	ctx, cancel := context.WithTimeout(ctx, powerTimeout)
	defer cancel()
	if err := el.ClearEvents(ctx); err != nil {
		c.Record(id, name, "sel", "clear", "failed: "+OneLine(err.Error()))
		return err
	}
	con.Announce("BMC event log cleared by " + id.User)
	c.Record(id, name, "sel", "clear", "ok")
	return nil
}
