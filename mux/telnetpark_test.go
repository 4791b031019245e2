package mux

import (
	"bytes"
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
	waitFor(t, "the console parked", func() bool {
		s := c.sweeping.Load()
		if s == nil {
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.parked
	})
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
