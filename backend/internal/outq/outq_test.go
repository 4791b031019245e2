package outq

import (
	"errors"
	"io"
	"testing"
	"time"

	"consoled/backend"
)

func TestQueue(t *testing.T) {
	var q Q
	buf := make([]byte, 4)
	if _, err := q.TryRead(buf); err != backend.ErrNothingYet {
		t.Fatalf("TryRead on an empty queue: %v", err)
	}
	got := make(chan string, 1)
	go func() {
		n, err := q.Read(buf)
		if err != nil {
			got <- err.Error()
		}
		got <- string(buf[:n])
	}()
	time.Sleep(20 * time.Millisecond) // the reader waits
	q.Put([]byte("hello"))
	if s := <-got; s != "hell" {
		t.Fatalf("Read %q, want the first 4 bytes", s)
	}
	q.End(io.EOF)
	q.End(errors.New("later")) // the first error stays
	if n, err := q.TryRead(buf); err != nil || string(buf[:n]) != "o" {
		t.Fatalf("TryRead %q, %v: what was queued comes before the end", buf[:n], err)
	}
	if _, err := q.Read(buf); err != io.EOF {
		t.Fatalf("Read after the end: %v, want io.EOF", err)
	}
	if _, err := q.TryRead(buf); err != io.EOF {
		t.Fatalf("TryRead after the end: %v, want io.EOF", err)
	}
}
