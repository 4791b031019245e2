package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A script whose input is discarded because someone else writes exits
// non-zero and says on stderr how much was discarded; what it typed never
// reaches the machine, while the writer's typing does.
func TestRawDiscardedInputExitsNonZero(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	typed := filepath.Join(t.TempDir(), "typed")
	d := startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+fmt.Sprintf(`
console "box" {
  exec { command = ["/bin/sh", "-c", "exec cat > %s"] }
}
`, typed))
	d.waitState(alice, "box", "up")

	// alice writes, from a script whose stdin stays open.
	writer := exec.Command("ssh", append(d.sshArgs(alice, "console"), "box")...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	writer.Stdin = r
	err = writer.Start()
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { writer.Process.Kill(); writer.Wait() })
	d.waitList(alice, "box", "up", " alice ")

	out, stderr, code := d.ssh(bob, "from-bob\n", "box")
	if code == 0 {
		t.Errorf("a raw session whose input was discarded exited 0; stderr %q", stderr)
	}
	if !strings.Contains(stderr, "input: 9 of 9 bytes not sent to box: read-only: another user has write access") {
		t.Errorf("stderr does not say how much was discarded: %q (stdout %q)", stderr, out)
	}

	if _, err := w.Write([]byte("from-alice\n")); err != nil {
		t.Fatal(err)
	}
	got := readFileUntil(t, typed, "from-alice", 30*time.Second)
	if strings.Contains(got, "from-bob") {
		t.Errorf("the discarded input reached the machine: %q", got)
	}
}

// A script types 1 MiB into a machine that hangs up after 64 KiB (and cannot
// be reached again): ssh exits non-zero, and stderr says how many of the
// bytes it sent did not reach the console; the rest did.
func TestRawInputToFailingConsoleIsCounted(t *testing.T) {
	alice := newKey(t, "alice")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	machineGot := make(chan int, 1)
	go func() {
		c, err := ln.Accept()
		ln.Close() // no second connection: the console stays down
		if err != nil {
			machineGot <- -1
			return
		}
		defer c.Close()
		n := 0
		buf := make([]byte, 8<<10)
		for n < 64<<10 {
			k, err := c.Read(buf)
			n += k
			if err != nil {
				break
			}
		}
		machineGot <- n // counts consoled's telnet negotiation too: an upper bound on typed bytes
	}()
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf(`
console "flaky" {
  telnet { address = %q }
}
`, ln.Addr().String()))
	d.waitState(alice, "flaky", "up")

	typed := lines("in", 1<<20)
	_, stderr, code := d.ssh(alice, string(typed), "flaky")
	if code == 0 {
		t.Errorf("ssh exited 0 though the console hung up mid-input; stderr %q", stderr)
	}
	m := regexp.MustCompile(`input: (\d+) of (\d+) bytes not sent to flaky: `).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("stderr does not say how much input was not sent: %q", stderr)
	}
	notSent, total := atoi(t, m[1]), atoi(t, m[2])
	if total != len(typed) || notSent <= 0 || notSent >= total {
		t.Errorf("%d of %d bytes not sent; want some but not all of the %d typed", notSent, total, len(typed))
	}
	var got int
	select {
	case got = <-machineGot:
	case <-time.After(30 * time.Second):
		t.Fatal("the machine never read")
	}
	if sent := total - notSent; sent < got-64 { // 64: more than consoled's negotiation
		t.Errorf("consoled says %d bytes were sent, but the machine read %d", sent, got)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
