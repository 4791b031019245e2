package panics

import (
	"sync"
	"time"
)

// What became of a crash's on_panic hook (Event.Hook).
const (
	HookRun        = "run"
	HookSuppressed = "suppressed"
)

// HookInterval is the least time between the starts of two on_panic runs
// for one console.
const HookInterval = 5 * time.Minute

// HookLimiter bounds the on_panic hook: for each console at most one run at
// a time and at most one start per interval. A crash refused a run is
// still recorded (its Event.Hook says HookSuppressed) and counted, and the
// next run is told how many were. A console that prints "panic:" a thousand
// times starts one hook, not a thousand. Safe for concurrent use.
type HookLimiter struct {
	interval time.Duration
	now      func() time.Time

	mu       sync.Mutex
	consoles map[string]*hookState
}

type hookState struct {
	running    bool
	last       time.Time // start of the last run
	suppressed int       // crashes refused a run since it
}

// NewHookLimiter allows one start per interval per console.
func NewHookLimiter(interval time.Duration) *HookLimiter {
	return &HookLimiter{interval: interval, now: time.Now, consoles: map[string]*hookState{}}
}

// Admit decides whether a crash on console may run the hook now. If it
// may, ok is true, suppressed is how many of the console's crashes were
// refused a run since the previous one, and done must be called when the
// run ends. If not, the refusal is counted and done is nil.
func (l *HookLimiter) Admit(console string) (done func(), suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.consoles[console]
	if st == nil {
		st = &hookState{}
		l.consoles[console] = st
	}
	now := l.now()
	if st.running || !st.last.IsZero() && now.Sub(st.last) < l.interval {
		st.suppressed++
		return nil, 0, false
	}
	st.running, st.last = true, now
	suppressed, st.suppressed = st.suppressed, 0
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			st.running = false
			l.mu.Unlock()
		})
	}, suppressed, true
}

// HookNote is what the panic list shows after the headline of a crash whose
// hook did not run, and nothing otherwise.
func (e Event) HookNote() string {
	if e.Hook == HookSuppressed {
		return " (on_panic not run: one per console at a time, " + HookInterval.String() + " apart)"
	}
	return ""
}
