package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// A serial console on the pty of a real guest: the kernel's 8250 UART on the
// other side, reached end to end through ssh.
func TestSerialGuest(t *testing.T) {
	g := bootGuest(t, "pty")
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf(`
console "web07" {
  serial {
    device = %q
    baud   = 115200
  }
}
`, g.Attach))
	d.waitState(alice, "web07", "up")
	tm := d.interactive(alice, "console", "web07")
	tm.Expect(`attached to web07 read-write`, 10*time.Second)
	tm.Send("\r")
	tm.Expect(`# `, 10*time.Second)
	tm.Send("echo serial-$((6*7))\r")
	tm.Expect(`\r\nserial-42\r+\n`, 10*time.Second) // (the guest tty once sent \r\r\n here)
	tm.Send("\x05cx")
	tm.Expect(`web07: `+g.Attach+` 115200 8N1 flow=none break=250ms; up since`, 5*time.Second)
	tm.Send("\x05cl0")
	tm.Expect(`sent BREAK`, 5*time.Second)
	tm.Send("\x05c.")
	tm.Wait(10 * time.Second)
	testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "web07.log"), "serial-42", 5*time.Second)
}

// socatPair runs socat with a pty pair under two stable links, like a USB
// adapter under /dev/serial/by-id; unplug kills it by PID.
type socatPair struct {
	t          *testing.T
	dev, other string
	cmd        *exec.Cmd
}

func (s *socatPair) plug() {
	s.t.Helper()
	s.cmd = exec.Command("socat", "pty,raw,echo=0,link="+s.dev, "pty,raw,echo=0,link="+s.other)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, e1 := os.Stat(s.dev)
		_, e2 := os.Stat(s.other)
		if e1 == nil && e2 == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatal("socat did not create its ptys")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *socatPair) unplug() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	s.cmd = nil
}

// Unplug and replug a "USB serial adapter": the console goes down with a log
// mark and comes back by itself; list says what is wrong meanwhile.
func TestSerialUnplugReplug(t *testing.T) {
	need(t, "socat", have("socat"))
	alice := newKey(t, "alice")
	dir := t.TempDir()
	s := &socatPair{t: t, dev: filepath.Join(dir, "usb-FTDI-if00"), other: filepath.Join(dir, "machine")}
	t.Cleanup(s.unplug)
	s.plug()
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf(`
console "web07" {
  serial { device = %q }
}
console "nodev" {
  serial { device = %q }
}
console "notatty" {
  serial { device = %q }
}
`, s.dev, filepath.Join(dir, "ttyUSB9"), dir))
	logPath := filepath.Join(d.Dir, "logs", "web07.log")
	for i := 1; i <= 3; i++ {
		d.waitState(alice, "web07", "up")
		m, err := os.OpenFile(s.other, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		msg := "cycle-" + strconv.Itoa(i) + "\r\n"
		m.Write([]byte(msg))
		testharness.ReadFileUntil(t, logPath, msg, 10*time.Second)
		m.Close()
		s.unplug()
		d.waitList(alice, "web07", "down", s.dev+" does not exist (unplugged?)")
		s.plug()
	}
	d.waitState(alice, "web07", "up")
	log, _ := os.ReadFile(logPath)
	if n := strings.Count(string(log), "hung up (unplugged?)"); n != 3 {
		t.Errorf("%d down marks for 3 unplugs:\n%s", n, log)
	}
	d.waitList(alice, "nodev", "down", "ttyUSB9 does not exist (unplugged?)")
	d.waitList(alice, "notatty", "down", "is a directory, not a serial device")
	nodevLog, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "notatty.log"))
	if !strings.Contains(string(nodevLog), "connect failed: "+dir+" is a directory") {
		t.Errorf("notatty.log:\n%s", nodevLog)
	}
}
