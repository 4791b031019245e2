package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The log's disk fills up: the console keeps working for the attached
// client, list says the log is not being written, and once space returns
// the log records the gap and goes on.
func TestDiskFull(t *testing.T) {
	alice := newKey(t, "alice")
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", logs).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", logs).Run() }) // after consoled stops
	cfg := filepath.Join(dir, "consoled.hcl")
	os.WriteFile(cfg, []byte(userBlock("alice", alice)+`log_dir = "logs"
audit_log = "audit.log"
`+shConsole("sh1", "sh1")), 0o600)
	d := runDaemon(t, dir, exec.Command(binary, "-config", cfg, "-listen", "127.0.0.1:0"))
	d.waitState(alice, "sh1", "up")
	tm := d.interactive(alice, "console", "sh1")
	tm.Expect(`read-write`, 10*time.Second)

	filler := filepath.Join(logs, "filler")
	exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=4k").Run() // until the disk is full
	tm.Send("echo full-$((1+1))\r")
	tm.Expect(`full-2`, 5*time.Second) // the console still works
	tm.Send("seq 10000 13000\r")       // more than the page the log file already has
	tm.Expect(`13000`, 5*time.Second)
	d.waitList(alice, "sh1", "up", "LOG NOT WRITTEN")

	os.Remove(filler)
	tm.Send("echo back-$((2+2))\r")
	tm.Expect(`back-4`, 5*time.Second)
	log := readFileUntil(t, filepath.Join(logs, "sh1.log"), "back-4", 10*time.Second)
	if !strings.Contains(log, "[-- consoled: log gap: ") || !strings.Contains(log, "bytes not recorded") {
		t.Errorf("the gap is not marked:\n%s", log)
	}
	if line := d.waitState(alice, "sh1", "up"); strings.Contains(line, "LOG NOT WRITTEN") {
		t.Errorf("list still reports a problem: %q", line)
	}
}
