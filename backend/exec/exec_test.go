package exec

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"consoled/backend"
	"consoled/internal/testharness"
)

// dial starts d's command; the test closes it when it ends.
func dial(t *testing.T, d *Dialer) backend.Conn {
	t.Helper()
	c, err := d.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// reader reads a connection on a goroutine of its own until it fails, so
// output that arrives in one read with what a test waited for before is kept.
type reader struct {
	out  testharness.Buffer
	seen int           // output before this was matched by an earlier wait
	done chan struct{} // closed when Read failed; err is then set
	err  error
}

func startReader(c backend.Conn) *reader {
	r := &reader{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		buf := make([]byte, 1024)
		for {
			n, err := c.Read(buf)
			r.out.Write(buf[:n])
			if err != nil {
				r.err = err
				return
			}
		}
	}()
	return r
}

// until waits for want in the output after the previous match.
func (r *reader) until(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.out.String()
		if i := strings.Index(got[r.seen:], want); i >= 0 {
			r.seen += i + len(want)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %q", want, got[r.seen:])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// end waits for Read to fail and returns its error.
func (r *reader) end(t *testing.T) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("Read did not end; output %q", r.out.String())
		return nil
	}
}

// A shell in a real pty: it sees a terminal of the configured size, echoes,
// and the connection ends with an error that says how the command ended.
func TestShellInPty(t *testing.T) {
	d := &Dialer{Command: []string{"/bin/sh"}, Rows: 30, Cols: 100, BreakSeq: []byte("~B")}
	c := dial(t, d)
	r := startReader(c)
	c.Write([]byte("stty size; echo tty-$((6*7))\r"))
	r.until(t, "30 100")
	r.until(t, "tty-42")
	if err := c.Break(); err != nil {
		t.Fatal(err)
	}
	r.until(t, "~B")
	c.Write([]byte("\rexit 3\r"))
	if rerr := r.end(t); rerr == nil || !strings.Contains(rerr.Error(), "exit status 3") {
		t.Errorf("end of command: %v", rerr)
	}
}

func TestBreakRefusedWithoutSequence(t *testing.T) {
	c := dial(t, &Dialer{Command: []string{"/bin/cat"}})
	if err := c.Break(); !errors.Is(err, backend.ErrBreakUnsupported) {
		t.Errorf("Break = %v", err)
	}
}

// Close ends a child that ignores its input, and Dial reports a missing
// command clearly.
func TestCloseAndMissingCommand(t *testing.T) {
	c := dial(t, &Dialer{Command: []string{"/bin/sleep", "600"}})
	start := time.Now()
	c.Close()
	if time.Since(start) > 3*time.Second {
		t.Errorf("Close took %v", time.Since(start))
	}
	_, err := (&Dialer{Command: []string{"/nonexistent/console-tool"}}).Dial(context.Background())
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/console-tool") {
		t.Errorf("Dial of a missing command: %v", err)
	}
}

// TryRead takes what the child printed without waiting, says so when there
// is nothing, and leaves the child's exit to Read.
func TestTryRead(t *testing.T) {
	d := &Dialer{Command: []string{"sh", "-c", "printf 'ready\\n'; read line; printf 'got %s\\n' \"$line\""}}
	c := dial(t, d)
	tr := c.(backend.TryReader)
	buf := make([]byte, 256)
	var got strings.Builder
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(got.String(), "ready") {
		n, err := tr.TryRead(buf)
		if err != nil && err != backend.ErrNothingYet {
			t.Fatalf("TryRead: %v", err)
		}
		got.Write(buf[:n])
		if time.Now().After(deadline) {
			t.Fatalf("TryRead got %q", got.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if n, err := tr.TryRead(buf); err != backend.ErrNothingYet || n != 0 {
		t.Fatalf("TryRead with nothing printed: %d, %v; want ErrNothingYet", n, err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("TryRead waited %v", d)
	}
	c.Write([]byte("x\r"))
	r := startReader(c) // TryRead is never called while Read runs
	r.until(t, "got x")
	if err := r.end(t); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("Read after the child exited: %v", err)
	}
}

// The connection ends when the command exits, even if a process it left
// behind still holds the pty (the command leads the pty's session, and the
// kernel hangs the pty up when it exits); what it printed last is read.
func TestEndsWhenCommandExits(t *testing.T) {
	c := dial(t, &Dialer{Command: []string{"sh", "-c", "sleep 60 & echo last words; exit 4"}})
	r := startReader(c)
	r.until(t, "last words")
	start := time.Now()
	if err := r.end(t); err == nil || !strings.Contains(err.Error(), "exit status 4") {
		t.Errorf("end: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ended %v after the command exited", d)
	}
}

// Quiet consoles waiting in Read, and children waiting to be reaped, park
// goroutines, not OS threads: a blocking pty held a thread per console.
func TestQuietConsolesHoldNoThreads(t *testing.T) {
	testharness.LimitProcs(t)
	before := testharness.Threads(t)
	const n = 50
	var readers []*reader
	for i := 0; i < n; i++ {
		c := dial(t, &Dialer{Command: []string{"sh", "-c", "echo ready; exec cat"}})
		r := startReader(c)
		r.until(t, "ready")
		readers = append(readers, r)
	}
	time.Sleep(100 * time.Millisecond)
	if after := testharness.Threads(t); after > before+10 {
		t.Errorf("%d threads before, %d with %d quiet exec consoles", before, after, n)
	}
}
