package registry

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"consoled/mux"
)

// countingLog is a BMC event log that counts its reads.
type countingLog struct{ reads atomic.Int64 }

func (l *countingLog) Events(ctx context.Context) ([]mux.BMCEvent, error) {
	l.reads.Add(1)
	return []mux.BMCEvent{{ID: 1, Sensor: "Temperature #0x30", Event: "Upper Critical going high", Asserted: true}}, nil
}

func (l *countingLog) ClearEvents(ctx context.Context) error { return nil }

// Watching the BMC event logs of many consoles holds no goroutine per
// console between reads (a timer each); the reads still come every
// bmc_event_poll, and stop when the console stops.
func TestEventWatchersHoldNoGoroutine(t *testing.T) {
	const n = 200
	r := start(t, parse(t, t.TempDir(), "bmc_event_poll = \"200ms\"\nconsole \"d\" {\n  demo {}\n}\n"))
	con := console(t, r, "d")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := runtime.NumGoroutine()
	logs := make([]*countingLog, n)
	for i := range logs {
		logs[i] = &countingLog{}
		go r.watchEvents(ctx, con, logs[i]) // returns at once; the old watcher looped
	}
	// Every log read at least twice: the reads go on.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; i < n; {
		if time.Now().After(deadline) {
			t.Fatalf("log %d read %d times in 30 s, want 2", i, logs[i].reads.Load())
		}
		if logs[i].reads.Load() >= 2 {
			i++
			continue
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Between reads, no goroutine of their own (a read in progress has one
	// for its moment).
	for g := runtime.NumGoroutine(); g-base >= n/4; g = runtime.NumGoroutine() {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines more than before %d event watchers, want fewer than %d", g-base, n, n/4)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	time.Sleep(100 * time.Millisecond) // a read under way when cancelled ends
	before := logs[0].reads.Load()
	time.Sleep(time.Second) // five periods
	if after := logs[0].reads.Load(); after != before {
		t.Errorf("log read %d more times after its console stopped", after-before)
	}
}
