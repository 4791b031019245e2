package e2e

import (
	"bytes"
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

	"consoled/internal/testharness"
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
	if !strings.Contains(stderr, "input: 9 of 9 bytes not sent to box: read-only: another user has write access (alice)") {
		t.Errorf("stderr does not say how much was discarded: %q (stdout %q)", stderr, out)
	}

	if _, err := w.Write([]byte("from-alice\n")); err != nil {
		t.Fatal(err)
	}
	got := testharness.ReadFileUntil(t, typed, "from-alice", 30*time.Second)
	if strings.Contains(got, "from-bob") {
		t.Errorf("the discarded input reached the machine: %q", got)
	}
}

// A script that watches as a spy while nobody writes is told its input was
// not sent because nobody has write access, not that someone else has it.
func TestRawSpyInputSaysNobodyWrites(t *testing.T) {
	alice := newKey(t, "alice")
	typed := filepath.Join(t.TempDir(), "typed")
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf(`
console "box" {
  exec { command = ["/bin/sh", "-c", "exec cat > %s"] }
}
`, typed))
	d.waitState(alice, "box", "up")
	_, stderr, code := d.ssh(alice, "from-spy\n", "box", "--spy")
	if code != 1 || !strings.Contains(stderr, "input: 9 of 9 bytes not sent to box: read-only: nobody has write access") ||
		strings.Contains(stderr, "another user") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if out, _, _ := d.ssh(alice, "", "who", "box"); strings.Contains(out, "alice") {
		t.Errorf("somebody is still attached: %q", out)
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

// A script types into a machine that does not read, and consoled shuts
// down meanwhile: ssh exits non-zero and stderr says how many bytes reached
// the console before the end, which is what the machine finds when it reads
// at last (give or take the one piece being written when the end came).
func TestRawInputCountedWhenSessionEnds(t *testing.T) {
	alice := newKey(t, "alice")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	drain := make(chan struct{})
	machineGot := make(chan int, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			machineGot <- -1
			return
		}
		defer c.Close()
		<-drain // it reads nothing until consoled is gone
		c.SetReadDeadline(time.Now().Add(time.Minute))
		n, iac := 0, 0
		buf := make([]byte, 64<<10)
		for {
			k, err := c.Read(buf)
			for _, b := range buf[:k] {
				switch {
				case iac > 0:
					iac--
				case b == 0xFF:
					iac = 2
				default:
					n++
				}
			}
			if err != nil {
				break
			}
		}
		machineGot <- n
	}()
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf(`
console "stuck" {
  telnet { address = %q }
}
`, ln.Addr().String()))
	d.waitState(alice, "stuck", "up")

	typed := lines("in", 32<<20) // more than the socket buffers between them hold
	cmd := exec.Command("ssh", append(d.sshArgs(alice, "console"), "stuck")...)
	cmd.Stdin = bytes.NewReader(typed)
	var stderr testharness.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	d.waitList(alice, "stuck", "up", " alice ")
	time.Sleep(time.Second) // a precondition, not an assertion: the input has filled the buffers
	d.Stop()
	close(drain)
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("ssh did not end after consoled stopped; stderr %q", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code == 0 {
		t.Errorf("ssh exited 0 though its input was cut short; stderr %q", stderr.String())
	}
	m := regexp.MustCompile(`input: (\d+) bytes sent to stuck before the session ended; input after that was not read`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("stderr does not say how much input was sent: %q", stderr.String())
	}
	sent := atoi(t, m[1])
	var got int
	select {
	case got = <-machineGot:
	case <-time.After(time.Minute):
		t.Fatal("the machine never finished reading")
	}
	if sent <= 0 || sent >= len(typed) || got < sent || got > sent+4096 {
		t.Errorf("consoled says %d bytes were sent; the machine read %d of the %d typed", sent, got, len(typed))
	}
}
