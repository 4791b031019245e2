package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Crash a real kernel with magic SysRq c and find it the morning after:
// panics lists exactly one event with the headline, logs shows it with
// context and timestamps, the hook ran once, and the offline command
// agrees. Before that, SysRq t, w and l (task dump, blocked tasks, CPU
// backtraces: call traces someone asked for) are no crash: no mark, no
// entry, no hook.
func TestGuestPanic(t *testing.T) {
	g := privateGuest(t)
	alice := newKey(t, "alice")
	hookOut := filepath.Join(t.TempDir(), "hook.out")
	d := startOnGuest(t, g, alice, fmt.Sprintf(`
on_panic {
  command = ["/bin/sh", "-c", "echo \"$CONSOLED_CONSOLE|$CONSOLED_HEADLINE\" >> %s"]
}
`, hookOut))
	logPath := filepath.Join(d.Dir, "logs", "vm1.log")
	for i, sysrq := range [][2]string{{"t", "Show State"}, {"w", "Show Blocked State"}, {"l", "Show backtrace of all active CPUs"}} {
		if out, errOut, code := d.ssh(alice, "", "break", "vm1", sysrq[0], "--expect", sysrq[1], "--wait", "20s"); code != 0 {
			t.Fatalf("break vm1 %s: exit %d\n%s\n%s", sysrq[0], code, out, errOut)
		}
		// the shell answers after the kernel has printed all of it
		if _, errOut, code := d.ssh(alice, "", "send", "vm1", fmt.Sprintf("echo sysrq-done-$((%d+1))", i)); code != 0 {
			t.Fatalf("send: exit %d %s", code, errOut)
		}
		readFileUntil(t, logPath, fmt.Sprintf("sysrq-done-%d\r\n", i+1), 60*time.Second)
	}
	if log, _ := os.ReadFile(logPath); !strings.Contains(string(log), "Call Trace:") {
		t.Fatalf("the task dump printed no call trace:\n%s", log)
	}
	if out, _, code := d.ssh(alice, "", "panics"); code != 0 || out != "" {
		t.Fatalf("panics after SysRq t, w, l: exit %d\n%s", code, out)
	}
	if log, _ := os.ReadFile(logPath); strings.Contains(string(log), "panic detected") {
		t.Fatalf("SysRq t, w or l marked as a crash:\n%s", log)
	}
	if _, err := os.Stat(hookOut); !os.IsNotExist(err) {
		t.Fatalf("on_panic ran for SysRq t, w or l (%v)", err)
	}

	out, errOut, code := d.ssh(alice, "", "break", "vm1", "c", "--expect", "Kernel panic", "--wait", "20s")
	if code != 0 {
		t.Fatalf("break vm1 c: exit %d\n%s\n%s", code, out, errOut)
	}
	// the last line of the crash, then its mark after it
	readFileUntil(t, logPath, "---[ end Kernel panic - not syncing: sysrq triggered crash ]---", 30*time.Second)

	out, _, code = d.ssh(alice, "", "panics")
	lines := trimLines(out)
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "vm1 ") ||
		!strings.HasSuffix(lines[0], " Kernel panic - not syncing: sysrq triggered crash") ||
		!strings.HasPrefix(lines[1], "logs vm1 --since ") {
		t.Fatalf("panics: exit %d\n%s", code, out)
	}
	out, _, _ = d.ssh(alice, "", "logs", "vm1", "--grep", "Kernel panic", "--context", "5")
	if !strings.Contains(out, "sysrq: Trigger a crash") || !strings.Contains(out, "Kernel panic - not syncing: sysrq triggered crash") {
		t.Errorf("logs --grep --context:\n%s", out)
	}
	out, _, _ = d.ssh(alice, "", "logs", "vm1", "--since", "1m", "--timestamps", "--grep", "sysrq")
	stamp := regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) `)
	n := 0
	for _, l := range trimLines(out) {
		m := stamp.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line without a timestamp: %q", l)
			continue
		}
		ts, _ := time.Parse(time.RFC3339, m[1])
		if time.Since(ts) > time.Minute || time.Since(ts) < -time.Second {
			t.Errorf("timestamp %s is not within the last minute", m[1])
		}
		n++
	}
	if n == 0 {
		t.Errorf("logs --since 1m --timestamps printed nothing")
	}
	hook := readFileUntil(t, hookOut, "vm1|", 10*time.Second)
	if strings.TrimSpace(hook) != "vm1|Kernel panic - not syncing: sysrq triggered crash" {
		t.Errorf("hook ran with %q", hook)
	}
	log, _ := os.ReadFile(logPath)
	if strings.Count(string(log), "[-- consoled: panic detected: ") != 1 {
		t.Errorf("vm1.log should mark the crash once")
	}
	if jl, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "panics.jsonl")); strings.Count(string(jl), "\n") != 1 {
		t.Errorf("panics.jsonl should hold one crash:\n%s", jl)
	}
	// The same from a copy of the log directory, offline.
	off, err := exec.Command(binary, "panics", "-data", filepath.Join(d.Dir, "logs")).CombinedOutput()
	if err != nil || !strings.Contains(string(off), "Kernel panic - not syncing: sysrq triggered crash") {
		t.Errorf("offline panics: %v\n%s", err, off)
	}
	off, err = exec.Command(binary, "logs", "-data", filepath.Join(d.Dir, "logs"), "vm1", "--grep", "end Kernel panic").CombinedOutput()
	if err != nil || !strings.Contains(string(off), "---[ end Kernel panic - not syncing: sysrq triggered crash ]---") {
		t.Errorf("offline logs: %v\n%s", err, off)
	}
}

// markLine matches a mark line; a mark flagged mid-line with the "\n"
// before it, which consoled added (see logstore's package doc).
var markLine = regexp.MustCompile(`\n\[-- consoled: [^\n]* \(mid-line\) --\]\n|\[-- consoled: [^\n]* --\]\n`)
