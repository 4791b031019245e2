package panics

import (
	"sync"
	"testing"
	"time"
)

func TestHookLimiter(t *testing.T) {
	l := NewHookLimiter(5 * time.Minute)
	clock := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return clock }

	done, n, ok := l.Admit("vm1")
	if !ok || n != 0 {
		t.Fatalf("first crash: ok %v suppressed %d", ok, n)
	}
	clock = clock.Add(10 * time.Minute) // past the interval, but still running
	if _, _, ok := l.Admit("vm1"); ok {
		t.Fatal("a second run started while the first runs")
	}
	if d2, _, ok := l.Admit("vm2"); !ok { // other consoles are not held up
		t.Fatal("vm2 refused because of vm1")
	} else {
		d2()
	}
	done()
	done() // twice is harmless
	d3, n, ok := l.Admit("vm1")
	if !ok || n != 1 {
		t.Fatalf("after the run ended: ok %v suppressed %d, want true 1", ok, n)
	}
	d3()
	for i := 0; i < 999; i++ { // a thousand more crashes within the interval
		clock = clock.Add(100 * time.Millisecond)
		if _, _, ok := l.Admit("vm1"); ok {
			t.Fatalf("crash %d ran the hook %v after the last run", i, 100*time.Millisecond*time.Duration(i+1))
		}
	}
	clock = clock.Add(5 * time.Minute)
	if _, n, ok := l.Admit("vm1"); !ok || n != 999 {
		t.Fatalf("after the interval: ok %v suppressed %d, want true 999", ok, n)
	}
}

// Crashes on one console at the same moment start one run.
func TestHookLimiterConcurrent(t *testing.T) {
	l := NewHookLimiter(HookInterval)
	var wg sync.WaitGroup
	var mu sync.Mutex
	runs := 0
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if done, _, ok := l.Admit("vm1"); ok {
				mu.Lock()
				runs++
				mu.Unlock()
				done()
			}
		}()
	}
	wg.Wait()
	if runs != 1 {
		t.Fatalf("%d runs", runs)
	}
}

func TestHookNote(t *testing.T) {
	if n := (Event{Hook: HookRun}).HookNote(); n != "" {
		t.Errorf("run: %q", n)
	}
	if n := (Event{Hook: HookSuppressed}).HookNote(); n != " (on_panic not run: one per console at a time, 5m0s apart)" {
		t.Errorf("suppressed: %q", n)
	}
}
