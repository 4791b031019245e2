package mux

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"consoled/backend/telnet"
	"consoled/logstore"
)

// BenchmarkConsoleOutput measures the path every byte a machine prints
// takes: backend read, log, fan-out to one attached viewer.
func BenchmarkConsoleOutput(b *testing.B) {
	d := &pipeDialer{machines: make(chan net.Conn, 1)}
	lg, _ := logstore.Open(b.TempDir(), "m", logstore.Options{MaxSize: 1 << 30})
	defer lg.Close()
	c := New(Config{Name: "m", Dialer: d, Log: lg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), IdleRead: -1,
		ClientBuffer: 256 << 20}) // the viewer must not be cut off while it catches up
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }() // before the log closes
	m := <-d.machines
	for c.Status().State != StateUp {
		time.Sleep(time.Millisecond)
	}
	viewer := c.Attach("v", "bench", false)
	go func() {
		for {
			if _, err := viewer.Next(ctx); err != nil {
				return
			}
		}
	}()
	line := []byte("[   12.345678] usb 1-1: new high-speed USB device number 2 using xhci_hcd\r\n")
	chunk := make([]byte, 0, 600)
	for len(chunk)+len(line) <= cap(chunk) {
		chunk = append(chunk, line...)
	}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Write(chunk)
	}
	b.StopTimer()
	select {
	case <-viewer.Done():
		b.Fatalf("the viewer was cut off: %v", viewer.Cause())
	default:
	}
	m.Close()
}

// BenchmarkIdleSweep measures one tick of the idle clock over consoles
// nobody watches, each with a tick's worth of 115200-baud output (1152 B)
// waiting in its loopback socket: read, log, written to
// disk. One op is one console: at 115200 baud a console costs ten ops a
// second.
func BenchmarkIdleSweep(b *testing.B) {
	const n = 100
	// The clock is fired by hand below; its own (hourly) ticks never come.
	// One clock per run: the runs before left theirs behind.
	every := time.Hour + time.Duration(sweepRuns.Add(1))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	defer func() { cancel(); running.Wait() }() // before the logs close
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cons := make([]*Console, n)
	machines := make([]net.Conn, n)
	for i := range cons {
		lg, _ := logstore.Open(b.TempDir(), "m", logstore.Options{MaxSize: 1 << 40})
		defer lg.Close()
		cons[i] = New(Config{Name: "m", Dialer: tcpDialer{ln.Addr().String(), &atomic.Int64{}}, Log: lg, Logger: quiet, IdleRead: every})
		running.Add(1)
		go func() { cons[i].Run(ctx); running.Done() }()
		if machines[i], err = ln.Accept(); err != nil {
			b.Fatal(err)
		}
		defer machines[i].Close()
	}
	line := []byte("[   12.345678] usb 1-1: new high-speed USB device number 2 using xhci_hcd\r\n")
	var chunk []byte
	for len(chunk)+len(line) <= 1152 {
		chunk = append(chunk, line...)
	}
	feed := func() {
		for _, m := range machines {
			m.Write(chunk)
		}
		time.Sleep(2 * time.Millisecond) // arrived
	}
	// First output: each console's reader hands it to the clock.
	feed()
	k := clockFor(every)
	for deadline := time.Now().Add(5 * time.Second); ; {
		k.mu.Lock()
		swept := len(k.sweeps)
		k.mu.Unlock()
		if swept == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d consoles handed to the idle clock", swept, n)
		}
		time.Sleep(time.Millisecond)
	}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		b.StopTimer()
		feed()
		b.StartTimer()
		k.fire()
	}
}

var sweepRuns atomic.Int64

// BenchmarkTrickleArrival measures what one small arrival on an idle
// console costs (a byte every 200 ms, as a quiet machine prints): at the
// idle clock's tick, the harvest that finds it, the read, the log write,
// and parking the console again. One op is one arrival; the consoles are
// telnet's (parkable) sockets.
func BenchmarkTrickleArrival(b *testing.B) {
	const n = 100
	every := time.Hour + time.Duration(sweepRuns.Add(1)) // fired by hand
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	defer func() { cancel(); running.Wait() }() // before the logs close
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	machines := make([]net.Conn, n)
	for i := range machines {
		lg, _ := logstore.Open(b.TempDir(), "m", logstore.Options{MaxSize: 1 << 40})
		defer lg.Close()
		c := New(Config{Name: "m", Dialer: &telnet.Dialer{Address: ln.Addr().String()}, Log: lg, Logger: quiet, IdleRead: every})
		running.Add(1)
		go func() { c.Run(ctx); running.Done() }()
		if machines[i], err = ln.Accept(); err != nil {
			b.Fatal(err)
		}
		defer machines[i].Close()
		go io.Copy(io.Discard, machines[i])
	}
	feed := func() {
		for _, m := range machines {
			m.Write([]byte{'.'})
		}
		time.Sleep(2 * time.Millisecond) // arrived
	}
	feed() // each console's reader reads its first byte and hands it over
	k := clockFor(every)
	for deadline := time.Now().Add(5 * time.Second); ; {
		k.mu.Lock()
		swept := len(k.sweeps)
		k.mu.Unlock()
		if swept == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d consoles handed to the idle clock", swept, n)
		}
		time.Sleep(time.Millisecond)
	}
	k.fire() // nothing more: all parked
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		b.StopTimer()
		feed()
		b.StartTimer()
		k.fire()
	}
}
