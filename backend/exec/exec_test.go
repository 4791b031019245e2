package exec

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"consoled/backend"
)

func readUntil(t *testing.T, c backend.Conn, want string) string {
	t.Helper()
	var got bytes.Buffer
	buf := make([]byte, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !strings.Contains(got.String(), want) {
			n, err := c.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("no %q in %q", want, got.String())
	}
	if !strings.Contains(got.String(), want) {
		t.Fatalf("no %q in %q", want, got.String())
	}
	return got.String()
}

// A shell in a real pty: it sees a terminal of the configured size, echoes,
// and the connection ends with an error that says how the command ended.
func TestShellInPty(t *testing.T) {
	d := &Dialer{Command: []string{"/bin/sh"}, Rows: 30, Cols: 100, BreakSeq: []byte("~B")}
	c, err := d.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("stty size; echo tty-$((6*7))\r"))
	readUntil(t, c, "30 100")
	readUntil(t, c, "tty-42")
	if err := c.Break(); err != nil {
		t.Fatal(err)
	}
	readUntil(t, c, "~B")
	c.Write([]byte("\rexit 3\r"))
	buf := make([]byte, 1024)
	var rerr error
	for rerr == nil {
		_, rerr = c.Read(buf)
	}
	if !strings.Contains(rerr.Error(), "exit status 3") {
		t.Errorf("end of command: %v", rerr)
	}
}

func TestBreakRefusedWithoutSequence(t *testing.T) {
	c, err := (&Dialer{Command: []string{"/bin/cat"}}).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Break(); !errors.Is(err, backend.ErrBreakUnsupported) {
		t.Errorf("Break = %v", err)
	}
}

// Close ends a child that ignores its input, and Dial reports a missing
// command clearly.
func TestCloseAndMissingCommand(t *testing.T) {
	c, err := (&Dialer{Command: []string{"/bin/sleep", "600"}}).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.Close()
	if time.Since(start) > 3*time.Second {
		t.Errorf("Close took %v", time.Since(start))
	}
	_, err = (&Dialer{Command: []string{"/nonexistent/console-tool"}}).Dial(context.Background())
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/console-tool") {
		t.Errorf("Dial of a missing command: %v", err)
	}
}

// TryRead takes what the child printed without waiting, says so when there
// is nothing, and leaves the child's exit to Read.
func TestTryRead(t *testing.T) {
	d := &Dialer{Command: []string{"sh", "-c", "printf 'ready\\n'; read line; printf 'got %s\\n' \"$line\""}}
	c, err := d.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
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
	readUntil(t, c, "got x")
	if _, err := c.Read(buf); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("Read after the child exited: %v", err)
	}
}
