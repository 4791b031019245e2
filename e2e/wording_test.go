package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A name that is not a console the user may see is refused by every
// command that takes one, before it can reach the file system; a reload
// that adds a console named like a command is refused with file:line.
func TestNamesRefused(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	users := userBlock("alice", alice) + userBlock("bob", bob) + "admins = [\"alice\"]\n"
	d := startConsoled(t, users+demoConsole)
	d.waitState(alice, "demo", "up")
	for _, cmd := range [][]string{
		{"logs", "../../etc/passwd"}, {"logs", "../audit"}, {"who", "../../etc/passwd"},
		{"power", "../../etc/passwd", "status"}, {"break", "../../etc/passwd"},
		{"send", "../../etc/passwd", "x"}, {"../../etc/passwd"}, {"attach", "../../etc/passwd"},
		{"panics", "../../etc/passwd"},
	} {
		out, errOut, code := d.ssh(alice, "", cmd...)
		if code != 2 || !strings.Contains(errOut, `no console`) || strings.Contains(out, "root:") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", cmd, code, out, errOut)
		}
	}

	cfgPath := filepath.Join(d.Dir, "consoled.hcl")
	os.WriteFile(cfgPath, []byte(users+demoConsole+"console \"who\" {\n  demo {}\n}\n"), 0o600)
	if _, errOut, code := d.ssh(alice, "", "reload"); code != 1 || !strings.Contains(errOut, cfgPath+`:12,9-14: Reserved console name; "who" is a command`) {
		t.Errorf("reload adding console \"who\": %d %q", code, errOut)
	}
	// Refusals read as sentences: no empty console name in them.
	if _, errOut, code := d.ssh(bob, "", "reload"); code != 2 || !strings.Contains(errOut, "consoled: reload refused: not an admin") {
		t.Errorf("reload by a non-admin: %d %q", code, errOut)
	}
}

// Exit codes and what a raw (no pty) session is told.
func TestRawSessionWording(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+demoConsole)
	d.waitState(alice, "demo", "up")

	// No power control: exit 1 with the reason, as the README says.
	if _, errOut, code := d.ssh(alice, "", "power", "demo", "cycle"); code != 1 || !strings.Contains(errOut, "has no power control") {
		t.Errorf("power without power control: %d %q", code, errOut)
	}
	// A raw writer is told, once, that escapes are off.
	out, errOut, code := d.ssh(alice, "uptime\r", "demo")
	if code != 0 || strings.Count(errOut, "\n") != 1 ||
		!strings.Contains(errOut, "attached to demo read-write without a terminal: raw bytes, no escapes (ssh -t for an interactive session)") {
		t.Errorf("raw attach: %d stdout %q stderr %q", code, out, errOut)
	}
	if strings.Contains(out, "attached to") {
		t.Errorf("a notice reached stdout: %q", out)
	}
	// A raw spy is not told of an escape it cannot type.
	_, errOut, _ = d.ssh(alice, "", "demo", "--spy")
	if !strings.Contains(errOut, "attached to demo as a spy: input is discarded (attach without --spy to write)") || strings.Contains(errOut, "^E") {
		t.Errorf("raw spy: %q", errOut)
	}
}

// Under ssh -t the client's terminal is raw: consoled's messages on
// stderr end in CRLF, or they would staircase.
func TestPtyStderrCRLF(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+demoConsole)
	d.waitState(alice, "demo", "up")
	tm := d.interactive(alice, "console", "logs", "nosuch")
	tm.Expect(`consoled: no console "nosuch"\r\nusage: logs NAME.*\r\n`, 10*time.Second)
	tm.Wait(10 * time.Second)
}

// Under ssh -t, ^C arrives as a keystroke, not a signal: it stops a
// waiting break all the same.
func TestPtyCtrlCStopsBreak(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+demoConsole)
	d.waitState(alice, "demo", "up")
	tm := d.interactive(alice, "console", "break", "demo", "h", "--wait", "120s")
	tm.Expect(`sysrq: HELP`, 15*time.Second)
	start := time.Now()
	tm.Send("\x03")
	tm.Expect(`consoled: break: interrupted \(\^C\)\r\n`, 10*time.Second)
	if code := tm.Wait(10 * time.Second); code != 130 {
		t.Errorf("break stopped by ^C: exit %d", code)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("^C took %v to stop break --wait 120s", el)
	}
}

// While the power question waits for its answer, console output is held
// back, so a busy console cannot scroll it away; it follows the answer.
func TestPowerQuestionHoldsOutput(t *testing.T) {
	alice := newKey(t, "alice")
	// Power control is configured but never used: the answer is no.
	d := startConsoled(t, userBlock("alice", alice)+`
console "busy" {
  exec { command = ["/bin/sh", "-c", "i=0; while :; do i=$((i+1)); echo busy-$i; sleep 0.02; done"] }
  power {
    ipmi {
      address  = "127.0.0.1:1"
      user     = "admin"
      password = "unused"
    }
  }
}
`)
	d.waitState(alice, "busy", "up")
	tm := d.interactive(alice, "console", "busy")
	tm.Expect(`busy-\d+\r\n`, 10*time.Second)
	tm.Send("\x05c!c")
	tm.Expect(`\[consoled: power cycle busy\? \[y/N\] `, 10*time.Second)
	asked := tm.out.String()
	last := lastBusy(asked)
	// Wait until the machine has printed 50 more lines (in the log), then
	// none of them may have reached the screen after the question.
	logPath := filepath.Join(d.Dir, "logs", "busy.log")
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(logPath)
		if lastBusy(string(b)) > last+50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console stopped printing after busy-%d", last)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after := tm.out.String()[len(asked):]; strings.Contains(after, "busy-") {
		t.Fatalf("output scrolled the question away: %q", after)
	}
	tm.Send("n")
	tm.Expect(`^n\]\r\n`, 5*time.Second) // the answer, right after the question
	// The held lines follow the answer, none lost.
	tm.Expect(regexp.QuoteMeta("busy-"+strconv.Itoa(last+2)+"\r\n"), 5*time.Second)
	tm.Expect(regexp.QuoteMeta("busy-"+strconv.Itoa(last+50)+"\r\n"), 5*time.Second)
	tm.Expect(`power cycle cancelled`, 5*time.Second)
}

// lastBusy is the highest N in the "busy-N" lines of s.
func lastBusy(s string) int {
	n := 0
	for _, m := range regexp.MustCompile(`busy-(\d+)\r?\n`).FindAllStringSubmatch(s, -1) {
		if v, _ := strconv.Atoi(m[1]); v > n {
			n = v
		}
	}
	return n
}

// The audit log stays where it was opened until a restart: a reload that
// moves audit_log cannot add a console that would log into the old file.
func TestReloadKeepsAuditLogOutOfConsoles(t *testing.T) {
	alice := newKey(t, "alice")
	users := userBlock("alice", alice) + "admins = [\"alice\"]\n"
	d := startConsoled(t, users+"audit_log = \"logs/x.log\"\n"+demoConsole)
	d.waitState(alice, "demo", "up")
	cfgPath := filepath.Join(d.Dir, "consoled.hcl")
	os.WriteFile(cfgPath, []byte(users+"audit_log = \"logs/audit.log\"\n"+demoConsole+"console \"x\" {\n  demo {}\n}\n"), 0o600)
	if _, errOut, code := d.ssh(alice, "", "reload"); code != 1 || !strings.Contains(errOut, `console "x": its log files would include `+filepath.Join(d.Dir, "logs", "x.log")+", the audit log") {
		t.Errorf("reload adding console x over the running audit log: %d %q", code, errOut)
	}
	if out, _, _ := d.ssh(alice, "", "list"); strings.Contains(out, "x ") {
		t.Errorf("console x runs: %q", out)
	}
}
