package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// Boot device and BMC events against ipmi_sim, with the real ssh client:
// bootdev (command, escape, power cycle --pxe) reaches the BMC's chassis
// log and is marked in the console's log; sel lists what bmc-cmd.sh added;
// a new entry is noticed within the poll interval and marked; a critical
// one runs on_bmc_event; sel --clear needs rw and --yes in a script.
func TestBootDeviceAndBMCEvents(t *testing.T) {
	bmc := testharness.StartBMC(t, "CONSOLE_PORT=auto")
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	dir := t.TempDir()
	pw := filepath.Join(dir, "db01.pw")
	os.WriteFile(pw, []byte(bmc.Pass+"\n"), 0o600)
	hookOut := filepath.Join(dir, "hook.out")
	hook := filepath.Join(dir, "hook.sh")
	os.WriteFile(hook, []byte("#!/bin/sh\necho \"$CONSOLED_CONSOLE|$CONSOLED_SENSOR|$CONSOLED_EVENT\" >> "+hookOut+"\n"), 0o755)
	d := startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+fmt.Sprintf(`
bmc_event_poll = "300ms"
on_bmc_event {
  command = [%q]
}
console "db01" {
  ipmi {
    address       = %q
    user          = %q
    password_file = %q
  }
  rw = ["alice"]
  ro = ["bob"]
}
`, hook, bmc.Addr, bmc.User, pw))
	d.waitState(alice, "db01", "up")
	powerLog := bmc.Env["POWER_LOG"]
	dbLog := filepath.Join(d.Dir, "logs", "db01.log")

	// bootdev from the command line.
	out, errOut, code := d.ssh(alice, "", "bootdev", "db01", "pxe")
	if code != 0 || out != "db01: boot device pxe for the next boot\n" {
		t.Fatalf("bootdev: %d %q %q", code, out, errOut)
	}
	testharness.ReadFileUntil(t, powerLog, "set boot pxe", 10*time.Second)
	testharness.ReadFileUntil(t, dbLog, "boot device pxe (next boot) by alice", 10*time.Second)
	if _, errOut, code := d.ssh(bob, "", "bootdev", "db01", "disk"); code != 2 || !strings.Contains(errOut, "read-only access") {
		t.Errorf("bootdev as bob (ro): %d %q", code, errOut)
	}
	// The escape: ^Ec!b, then c for cdrom.
	tm := d.interactive(alice, "console", "db01")
	tm.Expect(`attached to db01 read-write`, 10*time.Second)
	tm.Send("\x05c!b")
	tm.Expect(`boot device for the next boot of db01: p pxe, d disk, b bios, c cdrom\?`, 10*time.Second)
	tm.Send("c")
	tm.Expect(`db01: boot device cdrom for the next boot`, 10*time.Second)
	testharness.ReadFileUntil(t, powerLog, "set boot cdrom", 10*time.Second)
	tm.Send("\x05c.")
	tm.Wait(10 * time.Second)
	// power cycle --pxe: PXE first, then the cycle.
	os.WriteFile(powerLog, nil, 0o644)
	out, errOut, code = d.ssh(alice, "", "power", "db01", "cycle", "--pxe")
	if code != 0 || !strings.Contains(out, "db01: boot device pxe for the next boot; power cycle: done") {
		t.Fatalf("power cycle --pxe: %d %q %q", code, out, errOut)
	}
	chassis := testharness.ReadFileUntil(t, powerLog, "set power 1", 10*time.Second)
	if i, j := strings.Index(chassis, "set boot pxe"), strings.Index(chassis, "set power 0"); i < 0 || j < 0 || i > j {
		t.Errorf("PXE not set before the cycle:\n%s", chassis)
	}

	// The event log: consoled watches it, so an entry added now is new.
	d.waitStderr(`msg="watching the BMC event log" console=db01`, 20*time.Second)
	bmc.Cmd("sel_add 0x20 0x02 0x00 0x00 0x00 0x00 0x20 0x00 0x04 0x01 0x30 0x6f 0x01 0xff 0xff")
	testharness.ReadFileUntil(t, dbLog, "[-- consoled: BMC event: Temperature #0x30 asserted", 10*time.Second)
	out, _, code = d.ssh(bob, "", "sel", "db01") // reading needs only ro
	if code != 0 || !strings.Contains(out, " | Temperature #0x30 | ") || !strings.Contains(out, "| Asserted\n") {
		t.Errorf("sel db01: %d %q", code, out)
	}
	// A critical one runs on_bmc_event.
	bmc.Cmd("sel_add 0x20 0x02 0x00 0x00 0x00 0x00 0x20 0x00 0x04 0x0c 0x10 0x6f 0x01 0xff 0xff")
	testharness.ReadFileUntil(t, dbLog, "BMC event: Memory #0x10 asserted: Uncorrectable ECC / other uncorrectable memory error (critical)", 10*time.Second)
	testharness.ReadFileUntil(t, hookOut, "db01|Memory #0x10|Memory #0x10 asserted: Uncorrectable ECC", 10*time.Second)
	if b, _ := os.ReadFile(hookOut); strings.Contains(string(b), "Temperature") {
		t.Errorf("on_bmc_event ran for an event that is not critical:\n%s", b)
	}

	// Clearing: rw only, --yes in a script.
	if _, errOut, code := d.ssh(bob, "", "sel", "db01", "--clear", "--yes"); code != 2 || !strings.Contains(errOut, "read-only access") {
		t.Errorf("sel --clear as bob: %d %q", code, errOut)
	}
	if _, errOut, code := d.ssh(alice, "", "sel", "db01", "--clear"); code != 2 || !strings.Contains(errOut, "clear the BMC event log of db01 needs --yes in a script") {
		t.Errorf("sel --clear without --yes: %d %q", code, errOut)
	}
	if out, errOut, code := d.ssh(alice, "", "sel", "db01", "--clear", "--yes"); code != 0 || out != "db01: BMC event log cleared\n" {
		t.Errorf("sel --clear --yes: %d %q %q", code, out, errOut)
	}
	if out, _, _ := d.ssh(alice, "", "sel", "db01"); out != "" {
		t.Errorf("sel after clearing: %q", out)
	}
	testharness.ReadFileUntil(t, dbLog, "BMC event log cleared by alice", 10*time.Second)
	audit := strings.Join(auditLines(t, d, `"console":"db01"`), "\n")
	for _, want := range []string{`"action":"bootdev","detail":"pxe","result":"ok"`, `"console":"db01","action":"bootdev","detail":"disk","result":"refused: read-only access"`, `"action":"sel","detail":"clear","result":"ok"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %s:\n%s", want, audit)
		}
	}
}
