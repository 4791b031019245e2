package mux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// take hands output over in order, about maxTake at a time, and keeps the
// byte count and the stall clock true through partial takes and the
// compaction of a long backlog.
func TestOutboxTake(t *testing.T) {
	var o outbox
	t0 := time.Unix(1000, 0)
	var want bytes.Buffer
	for i := range 5000 { // 5000 chunks of 2 KiB: about 10 MiB waiting
		p := bytes.Repeat([]byte{byte('a' + i%26)}, 2<<10)
		copy(p, fmt.Sprintf("%06d", i))
		o.put(Item{Data: p}, t0.Add(time.Duration(i)*time.Microsecond))
		want.Write(p)
	}
	o.put(Item{Notice: "console down: EOF"}, t0)
	if o.since != t0 {
		t.Errorf("stall clock started at %v, want the first put %v", o.since, t0)
	}
	if o.bytes != want.Len()+len("console down: EOF") {
		t.Errorf("%d bytes counted, %d put", o.bytes, want.Len()+len("console down: EOF"))
	}
	var got bytes.Buffer
	var notices []string
	for i := 1; ; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		items := o.take(maxTake, at)
		if items == nil {
			break
		}
		n := 0
		for _, it := range items {
			n += itemSize(it)
			got.Write(it.Data)
			if it.Notice != "" {
				notices = append(notices, it.Notice)
			}
		}
		if n > maxTake && len(items) > 1 {
			t.Fatalf("take %d handed over %d bytes in %d items; want at most %d", i, n, len(items), maxTake)
		}
		if o.since != at {
			t.Fatalf("take %d did not restart the stall clock", i)
		}
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("taken output differs from what was put (%d bytes vs %d)", got.Len(), want.Len())
	}
	if len(notices) != 1 || notices[0] != "console down: EOF" {
		t.Errorf("notices %q", notices)
	}
	if o.bytes != 0 || len(o.items) != 0 || o.head != 0 {
		t.Errorf("empty outbox holds bytes=%d items=%d head=%d", o.bytes, len(o.items), o.head)
	}
}

// admit refuses output for a client that took nothing for stallAfter while
// output waited, and beyond the memory bound; output that waits for a short
// while, or any time while nothing waits, is fine.
func TestOutboxAdmit(t *testing.T) {
	const stall, limit = 10 * time.Second, 1 << 20
	t0 := time.Unix(1000, 0)
	var o outbox
	if err := o.admit(100, t0.Add(time.Hour), stall, limit); err != nil {
		t.Errorf("nothing waiting, an hour since the last take: %v", err)
	}
	o.put(Item{Data: make([]byte, 100)}, t0)
	if err := o.admit(100, t0.Add(stall-time.Millisecond), stall, limit); err != nil {
		t.Errorf("waiting just under the stall time: %v", err)
	}
	err := o.admit(100, t0.Add(stall), stall, limit)
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "not being read for 10s") {
		t.Errorf("waiting the stall time: %v", err)
	}
	o.take(maxTake, t0.Add(stall)) // it took something: the clock starts again
	o.put(Item{Data: make([]byte, 100)}, t0.Add(stall))
	if err := o.admit(100, t0.Add(stall+time.Second), stall, limit); err != nil {
		t.Errorf("a second after a take: %v", err)
	}
	err = o.admit(limit, t0.Add(stall), stall, limit)
	if !errors.Is(err, ErrTooSlow) || !strings.Contains(err.Error(), "1 MiB waited") {
		t.Errorf("over the memory bound: %v", err)
	}
}

// A client that reads, but more slowly than a burst arrives, gets all of it
// and is not cut off, however far behind the burst puts it (the outbox was
// once bounded at 512 KiB and cut such a client off).
func TestBurstToSlowReaderIsNotCutOff(t *testing.T) {
	d := &pipeDialer{machines: make(chan net.Conn, 1)}
	c, _, _, _ := newTunedConsole(t, d, func(cfg *Config) { cfg.StallAfter = 2 * time.Second })
	m := <-d.machines
	waitFor(t, "up", func() bool { return c.Status().State == StateUp })
	cl := c.Attach("slow", "test", false)

	const burst = 4 << 20
	sent := bytes.Repeat([]byte("0123456789abcdef"), burst/16)
	go m.Write(sent) // as fast as the console reads it
	var got bytes.Buffer
	maxBehind := 0
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for got.Len() < burst {
		items, err := cl.Next(ctx)
		if err != nil {
			t.Fatalf("slow reader cut off after %d of %d bytes: %v", got.Len(), burst, err)
		}
		for _, it := range items {
			got.Write(it.Data)
		}
		c.mu.Lock()
		maxBehind = max(maxBehind, cl.out.bytes)
		c.mu.Unlock()
		time.Sleep(10 * time.Millisecond) // about 3 MB/s: slower than the burst
	}
	if !bytes.Equal(got.Bytes(), sent) {
		t.Errorf("slow reader got %d bytes that differ from the %d sent", got.Len(), len(sent))
	}
	if maxBehind < 1<<20 {
		t.Errorf("the reader was at most %d bytes behind: the burst did not outrun it, so the test proves nothing", maxBehind)
	}
}

// A client that stops taking output is cut off once output has waited for
// it StallAfter, not before; the console and a reading client go on.
func TestStalledReaderIsCutOffInTime(t *testing.T) {
	const stall = 500 * time.Millisecond
	d := &pipeDialer{machines: make(chan net.Conn, 1)}
	c, _, _, _ := newTunedConsole(t, d, func(cfg *Config) { cfg.StallAfter = stall })
	m := <-d.machines
	waitFor(t, "up", func() bool { return c.Status().State == StateUp })
	stalled := c.Attach("stalled", "test", false)
	reader := c.Attach("reader", "test", false)
	readerErr := make(chan error, 1)
	var got atomic.Int64
	go func() {
		for {
			items, err := reader.Next(context.Background())
			if err != nil {
				readerErr <- err
				return
			}
			for _, it := range items {
				got.Add(int64(len(it.Data)))
			}
		}
	}()

	start := time.Now()
	var sent bytes.Buffer
	for sent.Len() < 4<<20 && stalled.Cause() == nil {
		p := bytes.Repeat([]byte{'x'}, 4<<10)
		if _, err := m.Write(p); err != nil {
			t.Fatal(err)
		}
		sent.Write(p)
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-stalled.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the stalled client was not cut off")
	}
	if !errors.Is(stalled.Cause(), ErrStalled) {
		t.Errorf("stalled client's cause: %v", stalled.Cause())
	}
	if waited := time.Since(start); waited < stall {
		t.Errorf("cut off after %v; output had not waited %v yet", waited, stall)
	}
	m.Write([]byte("after"))
	sent.WriteString("after")
	waitFor(t, "the reader to get everything", func() bool { return got.Load() == int64(sent.Len()) })
	select {
	case err := <-readerErr:
		t.Fatalf("the reading client was cut off: %v", err)
	default:
	}
}
