package mux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"consoled/backend"
	"consoled/logstore"
)

// pipeDialer hands out one end of a net.Pipe per Dial; the test drives the
// other end as the machine.
type pipeDialer struct {
	machines chan net.Conn
	fail     error
	dials    int
	mu       sync.Mutex
}

type pipeConn struct {
	net.Conn
	breaks chan struct{}
}

func (p pipeConn) Break() error { p.breaks <- struct{}{}; return nil }

func (d *pipeDialer) Kind() string { return "pipe" }
func (d *pipeDialer) Dial(ctx context.Context) (backend.Conn, error) {
	d.mu.Lock()
	d.dials++
	fail := d.fail
	d.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	a, b := net.Pipe()
	select {
	case d.machines <- b:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return pipeConn{Conn: a, breaks: make(chan struct{}, 4)}, nil
}

func newTestConsole(t *testing.T, d backend.Dialer, clientBuf int) (*Console, string, context.CancelCauseFunc, chan struct{}) {
	t.Helper()
	return newTunedConsole(t, d, func(c *Config) { c.ClientBuffer = clientBuf })
}

// newTunedConsole is newTestConsole with tune applied to the config.
func newTunedConsole(t *testing.T, d backend.Dialer, tune func(*Config)) (*Console, string, context.CancelCauseFunc, chan struct{}) {
	t.Helper()
	dir := t.TempDir()
	lg, err := logstore.Open(dir, "m1", logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Name: "m1", Dialer: d, Log: lg, MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 80 * time.Millisecond}
	tune(&cfg)
	c := New(cfg)
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(errors.New("test over")); <-done; lg.Close() })
	return c, filepath.Join(dir, "m1.log"), cancel, done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A client that never reads is cut off when more than ClientBuffer bytes
// wait for it (the bound on memory), before its stall time is up; the
// backend, the log and a reading client get every byte regardless.
func TestSlowClientDoesNotBlock(t *testing.T) {
	d := &pipeDialer{machines: make(chan net.Conn, 1)}
	c, logPath, _, _ := newTestConsole(t, d, 256<<10)
	m := <-d.machines
	waitFor(t, "up", func() bool { return c.Status().State == StateUp })

	stalled := c.Attach("stalled", "test", false)
	reader := c.Attach("reader", "test", false)
	var got bytes.Buffer
	readerDone := make(chan error, 1)
	go func() {
		for {
			items, err := reader.Next(context.Background())
			if err != nil {
				readerDone <- err
				return
			}
			for _, it := range items {
				got.Write(it.Data)
			}
			if got.Len() >= 1<<20 {
				readerDone <- nil
				return
			}
		}
	}()

	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1024) // 16 KiB
	var sent bytes.Buffer
	writeDone := make(chan error, 1)
	go func() {
		for sent.Len() < 1<<20 {
			if _, err := m.Write(chunk); err != nil {
				writeDone <- err
				return
			}
			sent.Write(chunk)
			time.Sleep(2 * time.Millisecond) // a fast line, but a line: the reader keeps up
		}
		writeDone <- nil
	}()
	select {
	case err := <-writeDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the backend was held up by a client that does not read")
	}
	if err := <-readerDone; err != nil {
		t.Fatalf("reading client: %v", err)
	}
	if !bytes.Equal(got.Bytes(), sent.Bytes()) {
		t.Errorf("reading client got %d bytes, want the %d sent", got.Len(), sent.Len())
	}
	select {
	case <-stalled.Done():
		if !errors.Is(stalled.Cause(), ErrTooSlow) {
			t.Errorf("stalled client cause = %v", stalled.Cause())
		}
	default:
		t.Error("stalled client was not cut off")
	}
	// The output is one endless line: the cut-off mark waits for its end
	// only briefly, then goes on a line of its own, flagged mid-line, and
	// the machine's bytes are still exactly what was sent.
	waitFor(t, "log", func() bool {
		b, _ := os.ReadFile(logPath)
		return bytes.Equal(logstore.MachineBytes(b), sent.Bytes()) && bytes.Contains(b, []byte("[-- consoled: stalled cut off"))
	})
	b, _ := os.ReadFile(logPath)
	if !regexp.MustCompile(`\n\[-- consoled: stalled cut off: [^\n]* \(mid-line\) --\]\n`).Match(b) {
		t.Errorf("the cut-off mark is not flagged mid-line")
	}
}

// Output is logged while nobody is attached; a dropped backend is marked in
// the log and reconnected.
func TestLogWithoutClientsAndReconnect(t *testing.T) {
	d := &pipeDialer{machines: make(chan net.Conn, 1)}
	c, logPath, _, _ := newTestConsole(t, d, 0)
	m := <-d.machines
	m.Write([]byte("boot line one\r\n"))
	m.Close() // the machine's end goes away
	m2 := <-d.machines
	m2.Write([]byte("after reconnect\r\n"))
	waitFor(t, "second connection logged", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "after reconnect")
	})
	b, _ := os.ReadFile(logPath)
	log := string(b)
	for _, want := range []string{"[-- consoled: console up ", "boot line one\r\n", "[-- consoled: console down: ", "after reconnect"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Count(log, "console up") != 2 {
		t.Errorf("want two up marks:\n%s", log)
	}
	if c.Status().State != StateUp {
		t.Errorf("state %s after reconnect", c.Status().State)
	}
}

// Backoff doubles up to the cap while dialing fails, and a failure is
// marked once, not on every retry.
func TestBackoff(t *testing.T) {
	d := &pipeDialer{machines: make(chan net.Conn, 1), fail: errors.New("connection refused")}
	c, logPath, _, _ := newTestConsole(t, d, 0)
	time.Sleep(700 * time.Millisecond)
	d.mu.Lock()
	dials := d.dials
	d.mu.Unlock()
	// 20, 40, 80, 80, ... ms (±20 %): about 10 dials in 700 ms; without
	// backoff there would be thousands, with no cap only 5.
	if dials < 6 || dials > 14 {
		t.Errorf("%d dials in 700 ms", dials)
	}
	st := c.Status()
	if st.State != StateDown || st.Err == nil || !strings.Contains(st.Err.Error(), "refused") {
		t.Errorf("status %+v", st)
	}
	b, _ := os.ReadFile(logPath)
	if n := strings.Count(string(b), "connect failed: connection refused"); n != 1 {
		t.Errorf("failure marked %d times:\n%s", n, b)
	}
}

func TestWriterArbitration(t *testing.T) {
	d := &pipeDialer{machines: make(chan net.Conn, 1)}
	c, _, _, _ := newTestConsole(t, d, 0)
	m := <-d.machines
	waitFor(t, "up", func() bool { return c.Status().State == StateUp })
	alice := c.Attach("alice", "a", true)
	bob := c.Attach("bob", "b", true)
	if !alice.Writer() || bob.Writer() {
		t.Fatal("first client should write, second watch")
	}
	if _, err := bob.Write([]byte("x")); !errors.Is(err, ErrReadOnly) {
		t.Errorf("spy write: %v", err)
	}
	if _, err := bob.TakeWrite(false); !errors.Is(err, ErrReadOnly) {
		t.Errorf("attach rw while taken: %v", err)
	}
	go func() { alice.Write([]byte("from-alice")) }()
	buf := make([]byte, 32)
	n, _ := m.Read(buf)
	if string(buf[:n]) != "from-alice" {
		t.Errorf("machine read %q", buf[:n])
	}
	if prev, err := bob.TakeWrite(true); err != nil || prev != "alice" {
		t.Errorf("force: %q %v", prev, err)
	}
	if alice.Writer() || !bob.Writer() {
		t.Error("force did not move write access")
	}
	items, _ := alice.Next(context.Background())
	told := false
	for _, it := range items { // a "console up" notice may come first
		told = told || strings.Contains(it.Notice, "taken over by bob")
	}
	if !told {
		t.Errorf("alice not told: %+v", items)
	}
	if st := c.Status(); st.Writer != "bob" || st.Viewers != 1 {
		t.Errorf("status %+v", st)
	}
	if err := alice.Break(); !errors.Is(err, ErrReadOnly) {
		t.Errorf("spy break: %v", err)
	}
}

// On shutdown every client is detached with the cause and the log says why.
func TestShutdownCause(t *testing.T) {
	d := &pipeDialer{machines: make(chan net.Conn, 1)}
	c, logPath, cancel, done := newTestConsole(t, d, 0)
	<-d.machines
	waitFor(t, "up", func() bool { return c.Status().State == StateUp })
	cl := c.Attach("alice", "a", true)
	cause := errors.New("consoled is shutting down")
	cancel(cause)
	<-done
	if _, err := cl.Next(context.Background()); !errors.Is(err, cause) {
		t.Errorf("client sees %v", err)
	}
	b, _ := os.ReadFile(logPath)
	if !strings.Contains(string(b), "console down: consoled is shutting down") {
		t.Errorf("log:\n%s", b)
	}
}

// tcpDialer connects to a loopback listener the test drives as the machine
// and counts reads. Its connections are TryReaders, like the telnet
// backend's, so idle consoles are read by the idle clock.
type tcpDialer struct {
	addr  string
	reads *atomic.Int64
}

// countingConn is a TCP connection whose TryRead reads the socket without
// waiting (Go keeps it non-blocking), answering ErrNothingYet on EAGAIN.
type countingConn struct {
	*net.TCPConn
	raw   syscall.RawConn
	reads *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) { c.reads.Add(1); return c.TCPConn.Read(p) }
func (c countingConn) Break() error               { return backend.ErrBreakUnsupported }

func (c countingConn) TryRead(p []byte) (int, error) {
	c.reads.Add(1)
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		n, rerr = syscall.Read(int(fd), p)
		return true // never wait for the poller
	})
	switch {
	case err != nil:
		return 0, err
	case rerr == syscall.EAGAIN:
		return 0, backend.ErrNothingYet
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (d tcpDialer) Kind() string { return "tcp" }
func (d tcpDialer) Dial(ctx context.Context) (backend.Conn, error) {
	var nd net.Dialer
	nc, err := nd.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, err
	}
	tc := nc.(*net.TCPConn)
	raw, err := tc.SyscallConn()
	if err != nil {
		tc.Close()
		return nil, err
	}
	return countingConn{tc, raw, d.reads}, nil
}

// tcpConsole runs a console whose machine is the returned end of a
// loopback TCP connection; reads counts the console's reads.
func tcpConsole(t *testing.T, idle time.Duration) (c *Console, machine net.Conn, logPath string, reads *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	reads = &atomic.Int64{}
	dir := t.TempDir()
	lg, err := logstore.Open(dir, "m1", logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c = New(Config{Name: "m1", Dialer: tcpDialer{ln.Addr().String(), reads}, Log: lg, IdleRead: idle, MinBackoff: time.Hour})
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(errors.New("test over")); <-done; lg.Close() })
	if machine, err = ln.Accept(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { machine.Close() })
	return c, machine, filepath.Join(dir, "m1.log"), reads
}

// While nobody is attached, output gathers between reads and all of it is
// logged; a client that attaches gets output at once, not at the next tick.
func TestIdleConsoleReadsInBatches(t *testing.T) {
	const idle = 500 * time.Millisecond
	c, machine, path, reads := tcpConsole(t, idle)
	waitFor(t, "console up", func() bool { return c.Status().State == StateUp })

	before := reads.Load()
	var want strings.Builder
	for i := 0; i < 40; i++ { // 40 small pieces over 200 ms
		l := fmt.Sprintf("boot line %d\r\n", i)
		want.WriteString(l)
		machine.Write([]byte(l))
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, "every line in the log", func() bool {
		b, _ := os.ReadFile(path)
		return strings.Contains(string(b), want.String())
	})
	if n := reads.Load() - before; n > 8 {
		t.Errorf("%d reads for 40 pieces written within 200 ms while idle; want them gathered", n)
	}
	if st := c.Status(); st.Ups != 1 || st.State != StateUp {
		t.Errorf("console %s after %d connections; want up on the first", st.State, st.Ups)
	}

	cl := c.Attach("alice", "test", false)
	defer cl.Close()
	time.Sleep(20 * time.Millisecond)
	sent := time.Now()
	machine.Write([]byte("login: "))
	var got []byte
	nctx, ncancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ncancel()
	for !bytes.Contains(got, []byte("login: ")) {
		items, err := cl.Next(nctx)
		if err != nil {
			t.Fatalf("attached client got %q, no prompt: %v", got, err)
		}
		for _, it := range items {
			got = append(got, it.Data...)
		}
	}
	if d := time.Since(sent); d > idle/2 {
		t.Errorf("attached client got output after %v; want it without waiting for the idle tick (%v)", d, idle)
	}
}

// A console read by its idle clock still notices the machine hanging up,
// after logging the last words it sent with the hang-up.
func TestSweptConsoleNoticesHangup(t *testing.T) {
	c, machine, path, _ := tcpConsole(t, 50*time.Millisecond)
	for i := 0; i < 30; i++ { // busy: the clock reads it
		fmt.Fprintf(machine, "line %d\r\n", i)
		time.Sleep(10 * time.Millisecond)
	}
	if c.sweeping.Load() == nil {
		t.Error("a busy idle console is not read by its clock")
	}
	machine.Write([]byte("last words\r\n"))
	machine.Close()
	waitFor(t, "the console to notice the hang-up", func() bool { return c.Status().State != StateUp })
	// The state changes just before the mark is written: wait for the mark.
	var b []byte
	waitFor(t, "the log to mark the hang-up", func() bool {
		c.cfg.Log.Flush()
		b, _ = os.ReadFile(path)
		return strings.Contains(string(b), "console down: EOF")
	})
	if !strings.Contains(string(b), "line 29\r\nlast words\r\n") {
		t.Errorf("log lacks the last words:\n%s", b)
	}
}
