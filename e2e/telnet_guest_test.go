package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// The core scenario against a real Linux kernel on an 8250 UART, reached
// over qemu's telnet server: attach with ssh -t, run a command, send BREAK
// with ^Ecl0 and get magic SysRq, detach, and find what the guest printed
// while nobody was attached in vm1.log.
func TestGuestOverTelnet(t *testing.T) {
	g := sharedGuest(t)
	alice := newKey(t, "alice")
	d := startOnGuest(t, g, alice, "")

	tm := d.interactive(alice, "console", "vm1")
	tm.Expect(`attached to vm1 read-write; \^Ec\? for help`, 10*time.Second)
	tm.Send("\r")
	tm.Expect(`# `, 10*time.Second)
	tm.Send("echo hi-$((6*7))\r")
	tm.Expect(`\r\nhi-42\r+\n`, 10*time.Second) // (the guest tty sometimes sends \r\r\n, as in TestSerialGuest)

	tm.Send("\x05cl0")
	tm.Expect(`sent BREAK`, 5*time.Second)
	tm.Send("h")
	tm.Expect(`sysrq: HELP`, 10*time.Second)

	tm.Send("\r(sleep 3; echo unattended-$((7*6))) &\r")
	tm.Expect(`# `, 5*time.Second)
	tm.Send("\x05c.")
	tm.Expect(`detached from vm1`, 5*time.Second)
	if code := tm.Wait(10 * time.Second); code != 0 {
		t.Errorf("ssh exit code %d after ^Ec.", code)
	}
	if line := d.waitState(alice, "vm1", "up"); !strings.Contains(line, " - ") {
		t.Errorf("a writer is still listed after detaching: %s", line)
	}

	logPath := filepath.Join(d.Dir, "logs", "vm1.log")
	log := testharness.ReadFileUntil(t, logPath, "unattended-42", 15*time.Second)
	for _, want := range []string{"[-- consoled: console up ", "hi-42", "sysrq: HELP", "alice attached rw from 127.0.0.1:", "alice sent BREAK", "alice detached"} {
		if !strings.Contains(log, want) {
			t.Errorf("vm1.log lacks %q", want)
		}
	}
	if !strings.Contains(g.SerialLog(), "unattended-42") {
		t.Errorf("the guest's own serial.log lacks the line: the test proves nothing")
	}
}

// Scripts: no pty means raw bytes both ways and no escape processing; the
// output keeps coming after stdin ends until the console goes quiet.
func TestGuestScript(t *testing.T) {
	g := sharedGuest(t)
	alice := newKey(t, "alice")
	d := startOnGuest(t, g, alice, "")
	out, errOut, code := d.ssh(alice, "uname -a; echo script-$((5*5))\n", "vm1")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "Linux") || !strings.Contains(out, "script-25") {
		t.Errorf("stdout %q", out)
	}
	if strings.Contains(out, "consoled") {
		t.Errorf("notices leaked into a script's stdout: %q", out)
	}
}
