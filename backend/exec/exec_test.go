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
