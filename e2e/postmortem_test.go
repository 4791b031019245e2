package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Crash a real kernel with magic SysRq c and find it the morning after:
// panics lists exactly one event with the headline, logs shows it with
// context and timestamps, the hook ran, and the offline command agrees.
func TestGuestPanic(t *testing.T) {
	g := privateGuest(t)
	alice := newKey(t, "alice")
	hookOut := filepath.Join(t.TempDir(), "hook.out")
	d := startOnGuest(t, g, alice, fmt.Sprintf(`
on_panic {
  command = ["/bin/sh", "-c", "echo \"$CONSOLED_CONSOLE|$CONSOLED_HEADLINE\" >> %s"]
}
`, hookOut))
	out, errOut, code := d.ssh(alice, "", "break", "vm1", "c", "--expect", "Kernel panic", "--wait", "20s")
	if code != 0 {
		t.Fatalf("break vm1 c: exit %d\n%s\n%s", code, out, errOut)
	}
	time.Sleep(2 * time.Second) // the rest of the trace arrives

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
	log, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "vm1.log"))
	if strings.Count(string(log), "[-- consoled: panic detected: ") != 1 {
		t.Errorf("vm1.log should mark the crash once")
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

var markLine = regexp.MustCompile(`\[-- consoled: [^\n]* --\]\n`)

// kill -9 consoled while the guest prints: everything consoled had read is
// in its log, as an exact copy of what the guest printed (qemu's own
// serial.log is the reference).
func TestKill9KeepsLog(t *testing.T) {
	g := sharedGuest(t)
	alice := newKey(t, "alice")
	d := startOnGuest(t, g, alice, "")
	if _, errOut, code := d.ssh(alice, "", "send", "vm1", "i=0; while [ $i -lt 3000 ]; do echo stream-$i; i=$((i+1)); done"); code != 0 {
		t.Fatalf("send: %d %s", code, errOut)
	}
	logPath := filepath.Join(d.Dir, "logs", "vm1.log")
	readFileUntil(t, logPath, "stream-500\r\n", 30*time.Second)
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
	log, _ := os.ReadFile(logPath)
	data := markLine.ReplaceAllString(string(log), "")
	serial := g.SerialLog()
	if !strings.Contains(serial, data) {
		t.Fatalf("vm1.log (%d bytes, marks removed) is not an exact copy of a stretch of the guest's serial.log", len(data))
	}
	if !strings.Contains(data, "stream-500\r\n") {
		t.Fatalf("log lost bytes")
	}
	t.Logf("log holds %d bytes up to the kill", len(data))
	// let the guest finish its loop before the next test uses it
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(g.SerialLog(), "stream-2999") && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
}
