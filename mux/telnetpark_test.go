package mux

import (
	"bytes"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"consoled/backend/telnet"
)

// A parked telnet console whose machine sends a buffer's worth of telnet
// commands and a little data, then the rest of its line, and falls
// silent, logs that rest at the next tick: the clock's read that decoded
// less than a buffer of data from a full buffer of bytes must not park the
// console with bytes still waiting in its socket (their arrival was
// harvested already, so nothing would wake it until the machine prints
// again, maybe never: a panic's last lines).
func TestTelnetCommandsDoNotStrandOutput(t *testing.T) {
	c, machine, path := telnetConsole(t, 20*time.Millisecond)
	waitFor(t, "the console parked", func() bool { return isParked(c) })
	buf := bytes.Repeat([]byte{telnet.IAC, telnet.NOP}, 1000) // 2,000 bytes, no data
	buf = append(buf, bytes.Repeat([]byte("x"), 2<<10-len(buf))...)
	buf = append(buf, "the last line\r\n"...)
	if _, err := machine.Write(buf); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := os.ReadFile(path)
		if strings.Contains(string(got), "the last line\r\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the end of the machine's output is not in the log 5 s after it was sent (the machine is silent since); log:\n%q", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A parked console whose machine prints its last words and hangs up at
// once goes down (and so reconnects): the harvest that finds the words
// also finds the end of the stream after them, which the read of the
// words does not take; parking the console again would leave it up,
// unread and never reconnecting, whatever the machine prints when it
// comes back.
func TestParkedConsoleSeesHangupAfterLastWords(t *testing.T) {
	every := time.Hour + time.Duration(sweepRuns.Add(1)) // its ticks are fired by hand
	c, machine, path := telnetConsole(t, every)
	waitFor(t, "console up", func() bool { return c.Status().State == StateUp })
	k := clockFor(every)
	waitFor(t, "the clock to take the console", func() bool {
		k.mu.Lock()
		defer k.mu.Unlock()
		return len(k.sweeps) == 1
	})
	k.fire() // nothing yet: parked
	s := c.sweeping.Load()
	s.mu.Lock()
	parked := s.parked
	s.mu.Unlock()
	if !parked {
		t.Fatal("a console that has printed nothing is not parked")
	}
	machine.Write([]byte("last words\r\n"))
	machine.(*net.TCPConn).CloseWrite()
	time.Sleep(100 * time.Millisecond) // both are in consoled's socket before the next tick
	waitFor(t, "the console to go down", func() bool {
		k.fire()
		return c.Status().State != StateUp
	})
	if got, _ := os.ReadFile(path); !strings.Contains(string(got), "last words\r\n") {
		t.Errorf("the last words are not in the log: %q", got)
	}
}
