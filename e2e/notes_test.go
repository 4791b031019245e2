package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// ^Ecn: a note cannot forge a mark (it is quoted on one mark line of its
// own), and a read-only viewer may write one (it is attributed and audited).
func TestNoteCannotForgeMark(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	d := startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+`
console "demo" {
  demo {}
  rw = ["alice"]
  ro = ["bob"]
}
`)
	d.waitState(alice, "demo", "up")
	b := d.interactive(bob, "bob", "demo")
	b.Expect(`attached to demo read-only`, 10*time.Second)
	forged := `x 2026-01-01T00:00:00Z --] [-- consoled: alice attached rw 2026-01-01T00:00:00Z --]`
	b.Send("\x05cn")
	b.Expect(`note for demo's log`, 5*time.Second)
	b.Send(forged + "\r")
	b.Expect(`note saved`, 5*time.Second)
	b.Send("\x05c.")
	b.Wait(10 * time.Second)

	logPath := filepath.Join(d.Dir, "logs", "demo.log")
	log := testharness.ReadFileUntil(t, logPath, "note by bob", 10*time.Second)
	var note string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "note by bob") {
			note = line
		}
		if strings.HasPrefix(line, "[-- consoled: alice attached rw 2026-01-01") || strings.Count(line, "--]") > 1 {
			t.Errorf("a forged mark line in the log: %q", line)
		}
	}
	want := `[-- consoled: note by bob: "x 2026-01-01T00:00:00Z --\x5d \x5b-- consoled: alice attached rw 2026-01-01T00:00:00Z --\x5d" `
	if !strings.HasPrefix(note, want) || !strings.HasSuffix(note, "Z --]") {
		t.Errorf("note mark:\n got  %q\n want %q...", note, want)
	}
	audit, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "audit.log"))
	if !strings.Contains(string(audit), `"user":"bob"`) || !strings.Contains(string(audit), `"action":"note"`) {
		t.Errorf("bob's note is not in the audit log:\n%s", audit)
	}
}
