package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// Per-console access: rw through a group, ro by name, and no access at all.
// A read-only user can watch but neither type, BREAK, take over, send nor
// power-cycle, through escapes or subcommands; every refusal is audited.
func TestAccessControl(t *testing.T) {
	alice, bob, carol := newKey(t, "alice"), newKey(t, "bob"), newKey(t, "carol")
	d := startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+userBlock("carol", carol)+`
group "ops" {
  members = ["alice"]
}
console "sh1" {
  exec { command = ["/bin/sh", "-c", "PS1='sh1$ ' exec /bin/sh -i"] }
  rw = ["group:ops"]
  ro = ["bob"]
}
`)
	d.waitState(alice, "sh1", "up")

	b := d.interactive(bob, "bob", "sh1")
	b.Expect(`attached to sh1 read-only \(you may watch this console, not type on it\)`, 10*time.Second)
	b.Send("echo bob-typed-$((2+2))\r")
	b.Expect(`read-only: you may watch sh1, not type on it; keystrokes are not sent`, 5*time.Second)
	b.Send("\x05cl0")
	b.Expect(`break BREAK refused: you have read-only access to sh1`, 5*time.Second)
	b.Send("\x05cf")
	b.Expect(`takeover force refused: you have read-only access to sh1`, 5*time.Second)
	b.Send("\x05c!c")
	b.Expect(`power cycle refused: you have read-only access to sh1`, 5*time.Second)

	a := d.interactive(alice, "console", "sh1")
	a.Expect(`attached to sh1 read-write`, 10*time.Second)
	a.Send("echo alice-typed-$((3+3))\r")
	b.Expect(`alice-typed-6`, 5*time.Second) // bob watches

	for _, cmd := range [][]string{{"break", "sh1"}, {"send", "sh1", "reboot"}, {"power", "sh1", "cycle"}, {"sh1", "--force"}} {
		_, errOut, code := d.ssh(bob, "", cmd...)
		if code != 2 || !strings.Contains(errOut, "refused: read-only access") {
			t.Errorf("bob %v: exit %d, %q", cmd, code, errOut)
		}
	}
	// carol sees nothing of sh1.
	if out, _, _ := d.ssh(carol, "", "list"); strings.Contains(out, "sh1") {
		t.Errorf("carol's list shows sh1: %q", out)
	}
	if _, errOut, code := d.ssh(carol, "", "sh1"); code != 2 || !strings.Contains(errOut, `no console or command "sh1"`) {
		t.Errorf("carol attach: %d %q", code, errOut)
	}

	log := testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "sh1.log"), "alice-typed-6", 5*time.Second)
	if strings.Contains(log, "bob-typed-4") {
		t.Error("a read-only user's keystrokes reached the machine")
	}
	audit := testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "audit.log"), `"action":"power"`, 5*time.Second)
	var sawBreakRefusal bool
	for _, line := range strings.Split(strings.TrimSpace(audit), "\n") {
		var ev struct{ User, Key, From, Console, Action, Detail, Result string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit line is not JSON: %q", line)
		}
		if ev.User == "bob" && ev.Action == "break" && ev.Detail == "BREAK" && strings.HasPrefix(ev.Result, "refused") {
			sawBreakRefusal = ev.Key != "" && strings.HasPrefix(ev.From, "127.0.0.1:")
		}
	}
	if !sawBreakRefusal {
		t.Errorf("bob's refused BREAK is not in the audit log with key and address:\n%s", audit)
	}
}

// Escapes for sharing and review: replay, note, who, break list; and the
// script subcommands who, send and list --json.
func TestEscapesAndScripts(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+`
console "sh1" {
  exec { command = ["/bin/sh", "-c", "PS1='sh1$ ' exec /bin/sh -i"] }
}
break "5" {
  sequence = "echo seq-\\d$((40+2))\\r"
  delay    = "100ms"
}
`)
	d.waitState(alice, "sh1", "up")
	tm := d.interactive(alice, "console", "sh1")
	tm.Expect(`read-write`, 10*time.Second)
	for i := 0; i < 30; i++ {
		tm.Send(fmt.Sprintf("echo line-%02d\r", i))
	}
	tm.Expect(`line-29\r\n`, 10*time.Second)
	tm.Send("\x05cr")
	tm.Expect(`last 20 lines of sh1:`, 5*time.Second)
	tm.Expect(`line-29`, 5*time.Second)
	tm.Expect(`end of replay`, 5*time.Second)
	tm.Send("\x05cn")
	tm.Expect(`note for sh1's log`, 5*time.Second)
	tm.Send("swapping the disk in slot 3\r")
	tm.Expect(`note saved`, 5*time.Second)
	tm.Send("\x05cl?")
	tm.Expect(`l5  "echo seq-\\\\d\$\(\(40\+2\)\)\\\\r"`, 5*time.Second)
	tm.Send("\x05cl5")
	tm.Expect(`seq-42`, 5*time.Second)
	tm.Send("\x05cz")
	tm.Expect(`unknown escape \^Ecz; \^Ec\? for help`, 5*time.Second)

	out, _, code := d.ssh(alice, "", "who", "sh1")
	if code != 0 || !strings.HasPrefix(out, "alice") || !strings.Contains(out, " rw since ") {
		t.Errorf("who: %d %q", code, out)
	}
	// send needs write access: alice's interactive session has it, and
	// lends it to alice's own script.
	if _, errOut, code := d.ssh(alice, "", "send", "--force", "sh1", "echo", "sent-$((5*5))"); code != 0 {
		t.Errorf("send --force: %d %q", code, errOut)
	}
	tm.Expect(`write access taken over by alice`, 5*time.Second)
	tm.Expect(`sent-25`, 5*time.Second)

	out, _, code = d.ssh(alice, "", "list", "--json")
	var list []struct {
		Name, Backend, State, Writer, Access string
		Viewers                              int
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 || len(list) != 1 || list[0].Name != "sh1" ||
		list[0].Backend != "exec" || list[0].State != "up" || list[0].Access != "rw" {
		t.Errorf("list --json: %v %q", err, out)
	}
	log, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "sh1.log"))
	if !strings.Contains(string(log), `[-- consoled: note by alice: "swapping the disk in slot 3" `) {
		t.Errorf("note not in the log")
	}
}

// break NAME KEYS --expect REGEX: scripted magic SysRq against the real
// kernel; exit 0 when the text comes, 1 when it does not.
func TestGuestBreakScript(t *testing.T) {
	g := sharedGuest(t)
	alice := newKey(t, "alice")
	d := startOnGuest(t, g, alice, "")
	out, errOut, code := d.ssh(alice, "", "break", "vm1", "t", "--expect", "Show State")
	if code != 0 || !strings.Contains(out, "sysrq: Show State") {
		t.Errorf("break vm1 t: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	start := time.Now()
	_, errOut, code = d.ssh(alice, "", "break", "vm1", "h", "--expect", "nomatch", "--wait", "2s")
	if code != 1 || !strings.Contains(errOut, `"nomatch" not seen within 2s`) {
		t.Errorf("break with no match: exit %d, %q", code, errOut)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("--wait 2s took %v", el)
	}
}

// replay_lines: whoever attaches first sees the last lines, dimmed.
func TestReplayOnAttach(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+"replay_lines = 3\n"+`
console "sh1" {
  exec { command = ["/bin/sh", "-c", "for i in 1 2 3 4 5 6; do echo history-$i; done; exec /bin/sh -i"] }
}
`)
	d.waitState(alice, "sh1", "up")
	testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "sh1.log"), "history-6", 5*time.Second)
	tm := d.interactive(alice, "console", "sh1")
	tm.Expect("\x1b\\[2m", 10*time.Second)
	got := tm.Expect(`(?s).*\x1b\[0m`, 5*time.Second)
	if strings.Contains(got, "history-3") || !strings.Contains(got, "history-6") {
		t.Errorf("replay: %q", got)
	}
	tm.Expect(`attached to sh1 read-write`, 5*time.Second)
}
