package mux

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"consoled/backend/telnet"
	"consoled/logstore"
)

// TestMain lets the test binary be the silent machines of
// TestSilentConsoleMemory (a process of their own, so that their sockets
// are not counted as the consoles' memory).
func TestMain(m *testing.M) {
	if os.Getenv("MUX_SILENT_MACHINES") == "1" {
		silentMachines()
		return
	}
	os.Exit(m.Run())
}

// silentMachines accepts connections on a loopback port, which it prints,
// and holds them without a word until its stdin closes.
func silentMachines() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	bufio.NewReader(os.Stdin).ReadString('\n') // until the test ends
	os.Exit(0)
}

// fleet is n telnet consoles started against addr, each with its own log.
type fleet struct {
	cons []*Console
	done sync.WaitGroup
	logs []*logstore.Log
	dir  string
}

// quiet is the fleet's logger: hundreds of consoles would flood the test's output.
var quiet = slog.New(slog.DiscardHandler)

func startFleet(t *testing.T, n int, addr string, idle time.Duration) *fleet {
	return startTunedFleet(t, n, addr, idle, func(*Config) {})
}

// startTunedFleet is startFleet with tune applied to each console's config.
func startTunedFleet(t *testing.T, n int, addr string, idle time.Duration, tune func(*Config)) *fleet {
	t.Helper()
	f := &fleet{dir: t.TempDir()}
	for i := range n {
		name := fmt.Sprintf("c%d", i)
		lg, err := logstore.Open(f.dir, name, logstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		f.logs = append(f.logs, lg)
		cfg := Config{Name: name, Dialer: &telnet.Dialer{Address: addr}, Log: lg, IdleRead: idle, Logger: quiet,
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond}
		tune(&cfg)
		c := New(cfg)
		f.cons = append(f.cons, c)
		f.done.Add(1)
		c.Start(f.done.Done)
	}
	t.Cleanup(f.stop)
	return f
}

func (f *fleet) stop() {
	for _, c := range f.cons {
		c.Stop(errors.New("test over"))
	}
	f.done.Wait()
	for _, lg := range f.logs {
		lg.Close()
	}
	f.logs = nil
}

// parked is how many of the fleet's consoles are up and parked with their clock.
func (f *fleet) parked() int {
	n := 0
	for _, c := range f.cons {
		if c.Status().State != StateUp {
			continue
		}
		if isParked(c) {
			n++
		}
	}
	return n
}

// waitLong is waitFor with a deadline for hundreds of consoles on a busy machine.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Silent consoles hold no goroutine: 500 telnet consoles up and parked
// cost a handful of goroutines, not 500. And such a console still does
// all it did with a goroutine of its own: it records a byte arriving
// after a long silence, reconnects when the machine hangs up, and an
// attached client gets output at once.
func TestSilentConsolesHoldNoGoroutine(t *testing.T) {
	const n = 500
	ln := listenMachines(t)
	settle(t, func() int64 { return int64(runtime.NumGoroutine()) }, 20) // earlier tests' goroutines end
	before := runtime.NumGoroutine()
	f := startFleet(t, n, ln.Addr().String(), 30*time.Millisecond)
	waitLong(t, "every console up and parked", func() bool { return f.parked() == n })
	more := settle(t, func() int64 { return int64(runtime.NumGoroutine() - before) }, 10)
	t.Logf("%d silent consoles: %d goroutines more than before (%d)", n, more, before)
	if more > 10 {
		t.Fatalf("%d silent consoles hold %d goroutines; want at most 10, whatever their number", n, more)
	}

	// Which console a machine is: what it says appears in that console's log.
	m := ln.machine(0)
	time.Sleep(300 * time.Millisecond) // ten ticks of silence: parked through them
	m.Write([]byte("after the silence\r\n"))
	var quiet *Console
	waitFor(t, "the words in a log", func() bool {
		for i, c := range f.cons {
			if got, _ := os.ReadFile(f.logs[i].Path()); bytes.Contains(got, []byte("after the silence\r\n")) {
				quiet = c
				return true
			}
		}
		return false
	})

	// The machine hangs up: the console goes down, marks it, and comes back.
	m.Close()
	waitFor(t, "the console to reconnect", func() bool {
		st := quiet.Status()
		return st.Ups == 2 && st.State == StateUp
	})
	got, _ := os.ReadFile(quiet.cfg.Log.Path())
	if !strings.Contains(string(got), EventDown) {
		t.Errorf("no %q mark in the log of a console whose machine hung up:\n%s", EventDown, got)
	}
	waitLong(t, "it parked again", func() bool { return f.parked() == n })

	// A client attaches to a parked console: output reaches it at once.
	m = ln.machine(-1) // the reconnected console's machine
	cl := quiet.Attach("alice", "test", false)
	defer cl.Close()
	m.Write([]byte("login: "))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var seen []byte
	for !bytes.Contains(seen, []byte("login: ")) {
		items, err := cl.Next(ctx)
		if err != nil {
			t.Fatalf("attached client got %q, no prompt: %v", seen, err)
		}
		for _, it := range items {
			seen = append(seen, it.Data...)
		}
	}

	cl.Close()
	f.stop()
	waitFor(t, "the consoles' goroutines to end after the stop", func() bool {
		return runtime.NumGoroutine() <= before+2
	})
}

// A silent console costs little memory: 2,000 telnet consoles up and
// parked, against machines in another process, cost at most
// maxSilentConsole bytes each of heap and stack (the log's state, the
// connection and its codec, the console, its sweep): about 2.2 KiB. With
// a goroutine, its grown stack and a context each, they cost 7 KiB.
func TestSilentConsoleMemory(t *testing.T) {
	const n = 2000
	const maxSilentConsole = 5 << 10
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), "MUX_SILENT_MACHINES=1")
	stdin, err := helper.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	helper.Stderr = os.Stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer helper.Wait()
	defer stdin.Close()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.HasPrefix(addr, "error") {
		t.Fatalf("starting the silent machines: %q %v", addr, err)
	}
	addr = strings.TrimSpace(addr)

	// Warm up what every console shares (the clock, fdconn's poller, the
	// logs' handle table) so that only what a console adds is counted.
	warm := startFleet(t, 1, addr, 40*time.Millisecond)
	waitLong(t, "the first console parked", func() bool { return warm.parked() == 1 })
	base := inUse()
	f := startFleet(t, n, addr, 40*time.Millisecond)
	waitLong(t, "every console up and parked", func() bool { return f.parked() == n })
	per := settle(t, func() int64 { return (inUse() - base) / n }, maxSilentConsole)
	t.Logf("a silent console: %d B of heap and stack (%d consoles)", per, n)
	if per > maxSilentConsole {
		t.Errorf("a silent console costs %d B of heap and stack; want at most %d", per, maxSilentConsole)
	}
	f.stop() // before the machines go
	warm.stop()
}

// settle measures until the measure is at most want (what start-up left
// behind may take a while to go on a busy machine), or 20 s have passed;
// it returns the last measure.
func settle(t *testing.T, measure func() int64, want int64) int64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := measure()
		if m <= want || time.Now().After(deadline) {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// inUse is the heap and stack in use, after a collection.
func inUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse)
}

// Stop ends a console wherever it is: waiting to reconnect (a timer, no
// goroutine), dialing, or not started yet; its log and its state say why.
func TestStopWherever(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fail  error // the dialer's error; nil: it waits until the dial is cancelled
		early bool  // Stop before Start
	}{
		{name: "waiting to reconnect", fail: errors.New("connection refused")},
		{name: "dialing"},
		{name: "not started", early: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &pipeDialer{machines: make(chan net.Conn), fail: tc.fail}
			lg, err := logstore.Open(t.TempDir(), "m1", logstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer lg.Close()
			c := New(Config{Name: "m1", Dialer: d, Log: lg, MinBackoff: time.Hour, Logger: quiet})
			cause := errors.New("removed by reload")
			if tc.early {
				c.Stop(cause)
			}
			done := make(chan struct{})
			c.Start(func() { close(done) })
			waitFor(t, "a dial", func() bool {
				d.mu.Lock()
				defer d.mu.Unlock()
				return d.dials > 0 || tc.early
			})
			if tc.fail != nil {
				waitFor(t, "the console down", func() bool { return c.Status().State == StateDown })
			}
			c.Stop(cause)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the console did not stop")
			}
			if st := c.Status(); st.State != StateDown || st.Err != cause {
				t.Errorf("after Stop: state %s, err %v; want down, %v", st.State, st.Err, cause)
			}
			got, _ := os.ReadFile(lg.Path())
			if !strings.Contains(string(got), EventDown+": removed by reload") {
				t.Errorf("the log does not say why the console stopped:\n%s", got)
			}
		})
	}
}
