package mux

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"consoled/backend/telnet"
	"consoled/logstore"
)

// A sweep that takes long is counted with its duration, and the tick after
// it, which could not start when it was due, is counted late: a real telnet
// console parked with its idle clock, whose sweep is held up for five
// intervals by its observer, as a slow disk or a busy machine would.
func TestIdleClockCountsSlowSweepAndLateTick(t *testing.T) {
	every := 20*time.Millisecond + time.Duration(sweepRuns.Add(1)) // a clock of its own
	const hold = 100 * time.Millisecond

	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := func(p []byte) {
		if bytes.Contains(p, []byte("slow")) {
			once.Do(func() { close(held); <-release })
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lg, err := logstore.Open(t.TempDir(), "m1", logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := New(Config{Name: "m1", Dialer: &telnet.Dialer{Address: ln.Addr().String()}, Log: lg,
		IdleRead: every, MinBackoff: time.Hour, Observers: []func([]byte){slow}})
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(errors.New("test over")); <-done; lg.Close() }()
	machine, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer machine.Close()
	go io.Copy(io.Discard, machine) // the negotiation

	waitFor(t, "the console parked with its clock", func() bool { return isParked(c) })
	k := clockFor(every)
	before := clockStats(k)
	all := IdleClockStats()

	machine.Write([]byte("slow\r\n"))
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the clock never read the console")
	}
	time.Sleep(hold) // the stimulus: the sweep takes at least this long
	close(release)

	over50ms := func(h ClockHistogram) uint64 { return h.Count - h.Buckets[5] } // ClockBuckets[5]: 50 ms
	var after ClockStats
	deadline := time.Now().Add(10 * time.Second)
	for {
		after = clockStats(k)
		if after.Late > before.Late && over50ms(after.Sweeps) > over50ms(before.Sweeps) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a sweep held %v: late ticks %d -> %d, sweeps over 50 ms %d -> %d; want both counted",
				hold, before.Late, after.Late, over50ms(before.Sweeps), over50ms(after.Sweeps))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := after.Sweeps.Sum - before.Sweeps.Sum; got < hold {
		t.Errorf("the sweeps' total time grew by %v, want at least the %v the sweep was held", got, hold)
	}
	if over50ms(after.Delays) <= over50ms(before.Delays) {
		t.Errorf("no tick delay over 50 ms counted (%d before, %d after); the tick after the held sweep started at least %v late",
			over50ms(before.Delays), over50ms(after.Delays), hold-every)
	}
	if sum := IdleClockStats(); sum.Late <= all.Late || sum.Sweeps.Count <= all.Sweeps.Count {
		t.Errorf("IdleClockStats (what metrics exports) missed the clock's ticks: late %d -> %d, sweeps %d -> %d",
			all.Late, sum.Late, all.Sweeps.Count, sum.Sweeps.Count)
	}

	// The clock is back on time: the ticks after the late one are not
	// late for it (the console stays parked, so the clock keeps ticking).
	const more = 10
	waitFor(t, "more ticks", func() bool { return clockStats(k).Sweeps.Count >= after.Sweeps.Count+more })
	if then := clockStats(k); then.Late-after.Late >= more {
		t.Errorf("all %d ticks after the late one counted late (%d): one overrun sweep keeps the clock late", then.Sweeps.Count-after.Sweeps.Count, then.Late-after.Late)
	}
}

// clockStats is one clock's statistics.
func clockStats(k *idleClock) ClockStats {
	st := ClockStats{
		Sweeps: ClockHistogram{Buckets: make([]uint64, len(ClockBuckets))},
		Delays: ClockHistogram{Buckets: make([]uint64, len(ClockBuckets))},
	}
	k.stats.addTo(&st)
	return st
}
