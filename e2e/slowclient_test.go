package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A viewer whose ssh client stops reading is cut off once it has taken no
// output for 10 s; the console, its log and the other viewer keep going at
// full speed meanwhile.
func TestStalledClientIsCutOff(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	d := startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+`
console "chatty" {
  exec { command = ["/bin/sh", "-c", "while :; do seq 1 30000; sleep 0.05; done"] }
  log {
    max_size = "4MiB"
    keep     = 1
  }
}
`)
	d.waitState(alice, "chatty", "up")

	// alice reads everything.
	reader := exec.Command("ssh", append(d.sshArgs(alice, "console"), "chatty")...)
	reader.Stdin = openStdin(t)
	out, err := reader.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Process.Kill(); reader.Wait() })
	var got atomic.Int64
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := out.Read(buf)
			got.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()

	d.waitList(alice, "chatty", "up", " alice ") // alice is attached (and writes) before bob comes

	// bob's ssh writes into a pipe nobody reads.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	stalled := exec.Command("ssh", append(d.sshArgs(bob, "console"), "chatty")...)
	stalled.Stdin = openStdin(t)
	stalled.Stdout = pw
	if err := stalled.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() { stalled.Process.Kill(); stalled.Wait() })

	logPath := filepath.Join(d.Dir, "logs", "chatty.log")
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(logPath)
		if strings.Contains(string(b), "bob cut off: output was not being read for 10s") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stalled client was never cut off; consoled:\n%s", d.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	before := got.Load()
	time.Sleep(1500 * time.Millisecond)
	if after := got.Load(); after-before < 100<<10 {
		t.Errorf("the reading client got only %d bytes in 1.5 s after the cut-off", after-before)
	}
	line := d.waitState(alice, "chatty", "up")
	if f := strings.Fields(line); len(f) < 5 || f[3] != "alice" || f[4] != "0" {
		t.Errorf("list after the cut-off: %q", line)
	}
}

// openStdin is a stdin that stays open until the test ends, so ssh keeps
// the session open.
func openStdin(t *testing.T) *os.File {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(); r.Close() })
	return r
}
