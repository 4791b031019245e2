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

// on_panic is bounded: a console that crashes again (after 30 s of quiet,
// so a separate crash) within the hook interval gets its entry and mark but
// no second run, and the panic list says so. A thousand "panic:" lines in
// a burst are one crash.
func TestPanicHookBounded(t *testing.T) {
	alice := newKey(t, "alice")
	hookOut := filepath.Join(t.TempDir(), "hook.out")
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf(`
on_panic {
  command = ["/bin/sh", "-c", "echo \"$CONSOLED_HEADLINE|$CONSOLED_SUPPRESSED\" >> %s"]
}
console "crashy" {
  exec { command = ["/bin/sh", "-c", "for i in $(seq 1000); do echo 'panic: first'; done; sleep 32; echo 'panic: second'; exec sleep 600"] }
}
`, hookOut))
	logPath := filepath.Join(d.Dir, "logs", "crashy.log")
	testharness.ReadFileUntil(t, logPath, "panic: second", 90*time.Second)
	log := testharness.ReadFileUntil(t, logPath, "[-- consoled: panic detected: panic: second ", 10*time.Second)
	if n := strings.Count(log, "[-- consoled: panic detected: "); n != 2 {
		t.Errorf("%d panic marks, want 2 (a thousand lines in a burst are one crash)", n)
	}
	out, _, code := d.ssh(alice, "", "panics")
	lines := trimLines(out)
	if code != 0 || len(lines) != 4 ||
		!strings.HasSuffix(lines[0], " panic: second (on_panic not run: one per console at a time, 5m0s apart)") ||
		!strings.HasSuffix(lines[2], " panic: first") {
		t.Errorf("panics: exit %d\n%s", code, out)
	}
	jl, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "panics.jsonl"))
	if strings.Count(string(jl), `"hook":"run"`) != 1 || strings.Count(string(jl), `"hook":"suppressed"`) != 1 {
		t.Errorf("panics.jsonl:\n%s", jl)
	}
	hook, _ := os.ReadFile(hookOut)
	if strings.TrimSpace(string(hook)) != "panic: first|0" {
		t.Errorf("hook runs: %q", hook)
	}
}

// A program that panics as soon as it is started at bash is a crash: bash
// 5.1 and later print ESC[?2004l CR (bracketed paste off) before a
// command's output, so the "panic:" is at the start of the line as the
// terminal shows it, not of the bytes. It is found, headlined as shown,
// listed by `panics` and marked in the log.
func TestPanicAfterBashCommand(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+`
console "app" {
  exec { command = ["env", "INPUTRC=/dev/null", "bash", "--norc", "--noprofile", "-i"] }
}
`)
	logPath := filepath.Join(d.Dir, "logs", "app.log")
	testharness.ReadFileUntil(t, logPath, "bash-", 30*time.Second)
	if out, errOut, code := d.ssh(alice, "", "send", "app", "'echo panic: boom from bash'"); code != 0 {
		t.Fatalf("send: exit %d\n%s%s", code, out, errOut)
	}
	log := testharness.ReadFileUntil(t, logPath, "[-- consoled: panic detected: panic: boom from bash", 30*time.Second)
	if !strings.Contains(log, "\x1b[?2004l\rpanic: boom from bash") {
		t.Fatalf("bash did not print ESC[?2004l CR before the output, so this test tries nothing; log:\n%q", log)
	}
	out, _, code := d.ssh(alice, "", "panics", "app")
	if lines := trimLines(out); code != 0 || len(lines) != 2 || !strings.HasSuffix(lines[0], " panic: boom from bash") {
		t.Errorf("panics app: exit %d\n%s", code, out)
	}
}
