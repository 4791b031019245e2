package mux

import (
	"bytes"
	"net"
	"runtime"
	"testing"
	"time"
)

// Consoles waiting hold no goroutine either: 200 whose machine refuses
// the connection, waiting to try again (a timer each), and 100 silent
// ones with an idle string to send (a timer each) cost a handful of
// goroutines; the idle string still goes out after its silence.
func TestWaitingConsolesHoldNoGoroutine(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close() // nothing listens there now

	ln := listenMachines(t)
	settle(t, func() int64 { return int64(runtime.NumGoroutine()) }, 20) // earlier tests' goroutines end
	before := runtime.NumGoroutine()

	down := startTunedFleet(t, 200, refusedAddr, 30*time.Millisecond, func(c *Config) { c.MinBackoff, c.MaxBackoff = time.Hour, time.Hour })
	waitLong(t, "every console down, waiting to reconnect", func() bool {
		for _, c := range down.cons {
			if st := c.Status(); st.State != StateDown || st.Ups != 0 {
				return false
			}
		}
		return true
	})
	const idleAfter = 400 * time.Millisecond
	keep := startTunedFleet(t, 100, ln.Addr().String(), 30*time.Millisecond, func(c *Config) {
		c.IdleString, c.IdleAfter = []byte("keepalive\r"), idleAfter
	})
	waitLong(t, "every console up and parked", func() bool { return keep.parked() == 100 })
	more := settle(t, func() int64 { return int64(runtime.NumGoroutine() - before) }, 10)
	t.Logf("300 waiting consoles: %d goroutines more than before (%d)", more, before)
	if more > 10 {
		t.Fatalf("300 waiting consoles hold %d goroutines; want at most 10", more)
	}

	// The idle string reaches the machine after its silence.
	m := ln.machine(0)
	m.SetReadDeadline(time.Now().Add(30 * time.Second))
	var got []byte
	buf := make([]byte, 512)
	for !bytes.Contains(got, []byte("keepalive\r")) {
		n, err := m.Read(buf)
		if err != nil {
			t.Fatalf("the machine got %q, no idle string: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
}
