package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// smallDiskCommand returns a command that runs consoled (args) in a mount
// namespace of its own where dir is a 512 KiB tmpfs: as root directly,
// otherwise inside a user namespace, so that no privilege is needed. The
// test reaches that tmpfs through /proc/PID/root.
func smallDiskCommand(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	need(t, "unshare (util-linux)", have("unshare"))
	ns := []string{"--mount"}
	if os.Geteuid() != 0 {
		ns = []string{"--user", "--map-root-user", "--mount"}
	}
	probe := append(append([]string{}, ns...), "sh", "-c", `mount -t tmpfs -o size=512k tmpfs "$1"`, "sh", dir)
	out, err := exec.Command("unshare", probe...).CombinedOutput()
	need(t, fmt.Sprintf("a mount namespace with a tmpfs (root, or unprivileged user namespaces): unshare %v: %v %s", ns, err, out), err == nil)
	script := `mount -t tmpfs -o size=512k tmpfs "$1" && shift && exec "$@"`
	return exec.Command("unshare", append(append(ns, "sh", "-c", script, "sh", dir, binary), args...)...)
}

// The log's disk fills up: the console keeps working for the attached
// client, list says the log is not being written, consoled's own log says
// so and the write-error metric counts; once space returns the log records
// the gap, with when writing stopped and when it resumed, and goes on.
func TestDiskFull(t *testing.T) {
	alice := newKey(t, "alice")
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	cfg := filepath.Join(dir, "consoled.hcl")
	os.WriteFile(cfg, []byte(userBlock("alice", alice)+`log_dir = "logs"
audit_log = "audit.log"
metrics_listen = "127.0.0.1:0"
`+shConsole("sh1", "sh1")), 0o600)
	d := runDaemon(t, dir, smallDiskCommand(t, logs, "-config", cfg, "-listen", "127.0.0.1:0"))
	view := fmt.Sprintf("/proc/%d/root%s", d.cmd.Process.Pid, logs) // the tmpfs, as consoled sees it
	d.waitState(alice, "sh1", "up")
	d.waitStderr("metrics listening", 10*time.Second)
	addr := regexp.MustCompile(`msg="metrics listening" addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(d.stderr.String())[1]
	tm := d.interactive(alice, "console", "sh1")
	tm.Expect(`read-write`, 10*time.Second)
	testharness.ReadFileUntil(t, filepath.Join(view, "sh1.log"), "alice attached", 10*time.Second)

	filler := filepath.Join(view, "filler")
	full := time.Now().Truncate(time.Second)
	exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=4k").Run() // until the disk is full
	tm.Send("echo full-$((1+1))\r")
	tm.Expect(`full-2`, 5*time.Second) // the console still works
	tm.Send("seq 10000 13000\r")       // more than the page the log file already has
	tm.Expect(`13000`, 5*time.Second)
	d.waitList(alice, "sh1", "up", "LOG NOT WRITTEN")
	d.waitStderr(`msg="console log not written`, 10*time.Second)
	body, err := httpGet("http://" + addr + "/metrics")
	if n, ok := metricValue(body, "consoled_log_write_errors_total", "sh1"); err != nil || !ok || n < 1 {
		t.Errorf("consoled_log_write_errors_total{console=\"sh1\"} = %v (%v, %v) while writes fail", n, ok, err)
	}

	time.Sleep(1100 * time.Millisecond) // so that resuming is a later second than stopping
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	back := time.Now().Truncate(time.Second)
	tm.Send("echo back-$((2+2))\r")
	tm.Expect(`back-4`, 5*time.Second)
	log := testharness.ReadFileUntil(t, filepath.Join(view, "sh1.log"), "back-4", 10*time.Second)
	m := regexp.MustCompile(`\[-- consoled: log gap: (\d+) bytes not recorded: writing stopped at (\S+) and resumed at (\S+): [^\n]*no space left on device[^\n]* --\]\n`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("the gap is not marked with its times and cause:\n%s", log)
	}
	stopped, err1 := time.Parse(time.RFC3339, m[2])
	resumed, err2 := time.Parse(time.RFC3339, m[3])
	if err1 != nil || err2 != nil || stopped.Before(full) || !stopped.Before(resumed) || resumed.Before(back) || m[1] == "0" {
		t.Errorf("gap mark %q: filled at %v, freed at %v", m[0], full, back)
	}
	d.waitStderr(`msg="console log written again"`, 10*time.Second)
	if line := d.waitState(alice, "sh1", "up"); regexp.MustCompile(`LOG NOT WRITTEN`).MatchString(line) {
		t.Errorf("list still reports a problem: %q", line)
	}
}
