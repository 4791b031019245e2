package mux

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/backend/telnet"
	"consoled/logstore"
)

// telnetConsole runs a console of the telnet backend (its sockets are
// backend.Parkers) whose machine is the returned end of a loopback
// connection that discards what consoled sends it.
func telnetConsole(t *testing.T, idle time.Duration) (c *Console, machine net.Conn, logPath string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	lg, err := logstore.Open(dir, "m1", logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c = New(Config{Name: "m1", Dialer: &telnet.Dialer{Address: ln.Addr().String()}, Log: lg, IdleRead: idle, MinBackoff: time.Hour})
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(errors.New("test over")); <-done; lg.Close() })
	if machine, err = ln.Accept(); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, machine) // the negotiation
	t.Cleanup(func() { machine.Close() })
	return c, machine, filepath.Join(dir, "m1.log")
}

// A console that prints a byte now and then stays with its idle clock
// between arrivals, parked: no hand-back to its reader, no goroutine woken
// per arrival; every byte is still logged within a tick or so.
func TestTrickleStaysParked(t *testing.T) {
	c, machine, path := telnetConsole(t, 20*time.Millisecond)
	waitFor(t, "console up", func() bool { return c.Status().State == StateUp })
	machine.Write([]byte("a"))
	waitFor(t, "the clock to take the console", func() bool { return c.sweeping.Load() != nil })
	s := c.sweeping.Load()
	want := "a"
	for _, b := range "bcdefghij" {
		time.Sleep(60 * time.Millisecond) // three ticks: parked by now
		machine.Write([]byte{byte(b)})
		want += string(b)
		waitFor(t, "the byte in the log", func() bool {
			got, _ := os.ReadFile(path)
			return strings.HasSuffix(string(got), want)
		})
	}
	if c.sweeping.Load() != s {
		t.Error("the console went back to its reader between arrivals; want it parked with its clock")
	}
}

// A client attaching to a parked console gets output at once.
func TestAttachWakesParkedConsole(t *testing.T) {
	every := time.Hour + time.Duration(sweepRuns.Add(1)) // its ticks are fired by hand
	c, machine, _ := telnetConsole(t, every)
	waitFor(t, "console up", func() bool { return c.Status().State == StateUp })
	machine.Write([]byte("a"))
	k := clockFor(every)
	waitFor(t, "the clock to take the console", func() bool {
		k.mu.Lock()
		defer k.mu.Unlock()
		return len(k.sweeps) == 1
	})
	k.fire() // reads "a", parks it
	s := c.sweeping.Load()
	s.mu.Lock()
	parked := s.parked
	s.mu.Unlock()
	if !parked {
		t.Fatal("a console that printed a byte and nothing more is not parked")
	}
	cl := c.Attach("alice", "test", false)
	defer cl.Close()
	waitFor(t, "the sweep to end", func() bool { return c.sweeping.Load() == nil })
	machine.Write([]byte("login: "))
	var got []byte
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for !bytes.Contains(got, []byte("login: ")) {
		items, err := cl.Next(ctx)
		if err != nil {
			t.Fatalf("attached client got %q, no prompt: %v", got, err)
		}
		for _, it := range items {
			got = append(got, it.Data...)
		}
	}
	k.mu.Lock()
	n := k.parked
	k.mu.Unlock()
	if n != 0 {
		t.Errorf("the clock counts %d parked consoles after the only one was attached", n)
	}
}

// A console that has printed nothing since it came up is parked with its
// idle clock from the start: no goroutine blocked in a read holding a
// buffer, nothing woken until it prints.
func TestSilentConsoleParkedFromStart(t *testing.T) {
	c, machine, path := telnetConsole(t, 20*time.Millisecond)
	waitFor(t, "the console parked", func() bool { return isParked(c) })
	machine.Write([]byte("first words\r\n"))
	waitFor(t, "the first words in the log", func() bool {
		got, _ := os.ReadFile(path)
		return strings.Contains(string(got), "first words\r\n")
	})
}

// When its last client detaches, a console that stays silent goes back to
// its idle clock, parked, at once: its reader does not wait in Read,
// holding a goroutine and a buffer, until the machine next prints.
func TestDetachParksSilentConsole(t *testing.T) {
	c, machine, path := telnetConsole(t, 20*time.Millisecond)
	waitFor(t, "the console parked", func() bool { return isParked(c) })
	cl := c.Attach("alice", "test", false)
	waitFor(t, "its reader to take it back", func() bool { return c.sweeping.Load() == nil })
	time.Sleep(50 * time.Millisecond) // its reader waits in Read by now
	cl.Close()
	waitFor(t, "the console parked again without printing", func() bool { return isParked(c) })
	machine.Write([]byte("still recorded\r\n"))
	waitFor(t, "the output in the log", func() bool {
		got, _ := os.ReadFile(path)
		return strings.Contains(string(got), "still recorded\r\n")
	})
}
