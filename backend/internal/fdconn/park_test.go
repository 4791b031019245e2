package fdconn

import (
	"io"
	"sync/atomic"
	"testing"
	"time"

	"consoled/backend"
)

// harvestUntil harvests h until wakes reaches want, or fails after 10 s.
func harvestUntil(t *testing.T, h backend.Harvester, wakes *atomic.Int32, want int32) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); wakes.Load() < want; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d wakes after 10 s of harvests, want %d", wakes.Load(), want)
		}
		h.Harvest()
	}
}

// A parked Conn is reported by a harvest once something arrived, once per
// Park, and never before; a FIN is reported too. No goroutine waits on it.
// Arrivals while it is not parked wake nothing.
func TestParkHarvest(t *testing.T) {
	c, peer := pair(t)
	var wakes atomic.Int32
	wake := func() { wakes.Add(1) }
	h, err := c.Park(wake)
	if err != nil {
		t.Fatal(err)
	}
	h.Harvest()
	if wakes.Load() != 0 {
		t.Fatal("woken with nothing to read")
	}
	peer.Write([]byte("x"))
	harvestUntil(t, h, &wakes, 1)
	h.Harvest()
	peer.Write([]byte("y")) // not parked again: no wake
	time.Sleep(20 * time.Millisecond)
	h.Harvest()
	if n := wakes.Load(); n != 1 {
		t.Fatalf("%d wakes for one Park", n)
	}
	// Parked again after reading what came (the clock's order: harvest,
	// read, park): only what arrives next wakes it.
	buf := make([]byte, 8)
	if n, err := c.TryRead(buf); string(buf[:n]) != "xy" || err != nil {
		t.Fatalf("TryRead: %q, %v", buf[:n], err)
	}
	if _, err := c.Park(wake); err != nil {
		t.Fatal(err)
	}
	h.Harvest()
	if n := wakes.Load(); n != 1 {
		t.Fatalf("parked with nothing new: %d wakes, want still 1", n)
	}
	peer.Write([]byte("z"))
	harvestUntil(t, h, &wakes, 2)
	if n, err := c.TryRead(buf); string(buf[:n]) != "z" || err != nil {
		t.Fatalf("TryRead: %q, %v", buf[:n], err)
	}
	if _, err := c.Park(wake); err != nil {
		t.Fatal(err)
	}
	peer.CloseWrite()
	harvestUntil(t, h, &wakes, 3)
	if _, err := c.TryRead(buf); err != io.EOF {
		t.Fatalf("after the peer's FIN: %v, want EOF", err)
	}
}

// A Conn closed while parked is forgotten: a harvest does not wake it.
func TestParkedThenClosed(t *testing.T) {
	c, peer := pair(t)
	var wakes atomic.Int32
	h, err := c.Park(func() { wakes.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	peer.Write([]byte("late"))
	time.Sleep(20 * time.Millisecond)
	h.Harvest()
	if wakes.Load() != 0 {
		t.Fatal("a closed Conn was woken")
	}
	if _, err := c.Park(func() {}); err == nil {
		t.Fatal("Park after Close did not fail")
	}
}
