package mux

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// notices drains what is queued for cl and returns its notices.
func notices(t *testing.T, cl *Client) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var b strings.Builder
	for {
		items, err := cl.Next(ctx)
		if err != nil {
			return b.String()
		}
		for _, it := range items {
			b.WriteString(it.Notice + "\n")
		}
	}
}

// A person's own second session takes write access without force; a
// writer displaced, by themselves or by force, gets write access back when
// the taker's session ends or gives it up, and is told each time.
func TestWriteAccessGivenBack(t *testing.T) {
	d := &pipeDialer{machines: make(chan net.Conn, 1)}
	c, logPath, _, _ := newTestConsole(t, d, 0)
	<-d.machines
	waitFor(t, "up", func() bool { return c.Status().State == StateUp })
	win := c.Attach("alice", "10.0.0.1:1", true)
	notices(t, win)

	script := c.Attach("alice", "10.0.0.1:2", true)
	if prev, err := script.TakeWrite(false); err != nil || prev != "alice" || !script.Writer() || win.Writer() {
		t.Fatalf("own session without force: %q %v", prev, err)
	}
	if n := notices(t, win); !strings.Contains(n, "write access taken over by alice from 10.0.0.1:2; you are now read-only until that session ends") {
		t.Errorf("window not told of the takeover: %q", n)
	}
	script.Close()
	if !win.Writer() {
		t.Fatal("write access not given back when the script ended")
	}
	if n := notices(t, win); !strings.Contains(n, "write access is yours again (alice's session from 10.0.0.1:2 ended)") {
		t.Errorf("window not told it writes again: %q", n)
	}

	bob := c.Attach("bob", "10.0.0.2:1", true)
	if _, err := bob.TakeWrite(false); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("another person without force: %v", err)
	}
	if _, err := bob.TakeWrite(true); err != nil || !bob.Writer() {
		t.Fatalf("force: %v", err)
	}
	notices(t, win)
	bob.DropWrite()
	if !win.Writer() {
		t.Fatal("write access not given back when the taker gave it up")
	}
	if n := notices(t, win); !strings.Contains(n, "write access is yours again (bob's session from 10.0.0.2:1 gave it up)") {
		t.Errorf("window not told: %q", n)
	}

	// A lender that has left gets nothing back: nobody writes.
	carol := c.Attach("carol", "10.0.0.3:1", true)
	carol.TakeWrite(true)
	win.Close()
	carol.Close()
	if st := c.Status(); st.Writer != "" {
		t.Errorf("writer %q after everyone who wrote left", st.Writer)
	}
	waitFor(t, "marks", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Count(string(b), "alice has write access again") == 2
	})
}
