package mux

import (
	"sync"
	"sync/atomic"
	"time"
)

// Idle clocks tick for the consoles that wait to read again (see
// Config.IdleRead): a console waits for the next tick of its clock, and
// each tick wakes every console that waits on it at once, so the process
// wakes a few times per interval and reads many consoles per wake-up,
// instead of once per console at scattered times. The consoles are spread
// over idleSlots clocks with staggered ticks, so that no single burst of
// reads holds up the output of a console someone is watching for long. A
// clock ticks only while someone waits.
const idleSlots = 10

type idleClock struct {
	every  time.Duration
	offset time.Duration // where in every the ticks fall
	mu     sync.Mutex
	next   chan struct{} // closed at the next tick; nil while nobody waits
}

type clockKey struct {
	every time.Duration
	slot  int
}

var (
	clocksMu sync.Mutex
	clocks   = map[clockKey]*idleClock{}
	nextSlot atomic.Uint32
)

// newSlot spreads consoles over the clocks' slots in turn.
func newSlot() int { return int(nextSlot.Add(1) % idleSlots) }

// tick returns a channel closed at the next tick of clock (every, slot).
func tick(every time.Duration, slot int) <-chan struct{} {
	key := clockKey{every, slot}
	clocksMu.Lock()
	k := clocks[key]
	if k == nil {
		k = &idleClock{every: every, offset: every * time.Duration(slot) / idleSlots}
		clocks[key] = k
	}
	clocksMu.Unlock()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.next == nil {
		k.next = make(chan struct{})
		now := time.Now()
		at := now.Truncate(k.every).Add(k.offset)
		for !at.After(now) {
			at = at.Add(k.every)
		}
		time.AfterFunc(at.Sub(now), k.fire)
	}
	return k.next
}

func (k *idleClock) fire() {
	k.mu.Lock()
	defer k.mu.Unlock()
	close(k.next)
	k.next = nil
}
