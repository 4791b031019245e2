package pollfd

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"consoled/backend"
)

// A pty pair: reads of the master through Open's file wait in the poller,
// TryRead never waits, and a hang-up of the other side is reported.
func TestPtyMaster(t *testing.T) {
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	f, err := Open(int(master.Fd()), master.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	buf := make([]byte, 64)
	start := time.Now()
	if n, err := TryRead(f, buf); n != 0 || err != backend.ErrNothingYet {
		t.Fatalf("TryRead with nothing there: %d, %v", n, err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("TryRead waited %v", d)
	}

	got := make(chan string, 1)
	go func() {
		n, err := f.Read(buf)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(buf[:n])
	}()
	time.Sleep(50 * time.Millisecond) // the reader waits in the poller
	tty.Write([]byte("hello\n"))
	select {
	case s := <-got:
		if s != "hello\r\n" {
			t.Errorf("Read got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return the output")
	}

	tty.Write([]byte("x\n"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := TryRead(f, buf)
		if err == nil && string(buf[:n]) == "x\r\n" {
			break
		}
		if err != nil && err != backend.ErrNothingYet || time.Now().After(deadline) {
			t.Fatalf("TryRead: %d %q, %v", n, buf[:n], err)
		}
		time.Sleep(5 * time.Millisecond)
	}

	tty.Close() // the last holder of the tty goes: reading the master fails
	var n int
	for deadline = time.Now().Add(5 * time.Second); err == nil || err == backend.ErrNothingYet; {
		if time.Now().After(deadline) {
			t.Fatal("no end after the tty closed")
		}
		n, err = TryRead(f, buf)
		time.Sleep(5 * time.Millisecond)
	}
	if n != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, unix.EIO)) {
		t.Errorf("after hang-up: %d, %v", n, err)
	}

	f.Close()
	if _, err := TryRead(f, buf); err == nil || err == backend.ErrNothingYet {
		t.Errorf("TryRead of a closed file: %v", err)
	}
}
