package sshd

import (
	"fmt"
	"sync/atomic"
	"time"
)

// inputTally counts what a session's input came to: the bytes that reached
// the console and those that did not (read-only, console down, ...), so a
// script is told what became of the input consoled accepted from it.
type inputTally struct {
	slot     chan struct{} // cap 1: held while input is being sent
	over     chan struct{} // closed when the session ends: nothing more is sent
	sent     atomic.Int64
	dropped  atomic.Int64
	pending  atomic.Int64 // bytes being sent right now
	inFlight atomic.Int64 // bytes being sent when the session ended, not known to have arrived
	why      atomic.Pointer[string]
}

func newInputTally() *inputTally {
	return &inputTally{slot: make(chan struct{}, 1), over: make(chan struct{})}
}

// send passes p to write and counts what came of it; once the session has
// ended it sends nothing.
func (t *inputTally) send(p []byte, write func([]byte) (int, error)) (int, error) {
	select {
	case t.slot <- struct{}{}:
	case <-t.over:
		return 0, errSessionOver
	}
	defer func() { <-t.slot }()
	select {
	case <-t.over:
		return 0, errSessionOver
	default:
	}
	t.pending.Store(int64(len(p)))
	n, err := write(p)
	t.pending.Store(0)
	t.sent.Add(int64(n))
	if n < len(p) {
		t.drop(len(p)-n, err)
	}
	return n, err
}

// drop counts n bytes that did not reach the console, and why.
func (t *inputTally) drop(n int, why error) {
	t.dropped.Add(int64(n))
	if why != nil {
		s := why.Error()
		t.why.CompareAndSwap(nil, &s)
	}
}

var errSessionOver = fmt.Errorf("the session ended")

// end stops sending, waiting up to wait for a send in progress (a machine
// that does not read holds it up) to finish; its bytes count as in flight
// if it does not. Called once.
func (t *inputTally) end(wait time.Duration) {
	close(t.over)
	select {
	case t.slot <- struct{}{}: // held for good: nothing more is sent
	case <-time.After(wait):
		t.inFlight.Store(t.pending.Load())
	}
}

// report is what a script is told about its input, "" if there is nothing
// to tell: all of it reached the console. ended says the session ended
// before the script's input did, so what was still to come was not read.
func (t *inputTally) report(name string, ended bool) string {
	sent, dropped, inFlight := t.sent.Load(), t.dropped.Load(), t.inFlight.Load()
	why := ""
	if w := t.why.Load(); w != nil {
		why = ": " + *w
	}
	switch {
	case ended && sent+dropped+inFlight > 0:
		s := fmt.Sprintf("input: %d bytes sent to %s before the session ended; input after that was not read", sent, name)
		if dropped > 0 {
			s += fmt.Sprintf("; %d bytes read were not sent%s", dropped, why)
		}
		if inFlight > 0 {
			s += fmt.Sprintf("; %d bytes were still being sent (the console was not taking input)", inFlight)
		}
		return s
	case !ended && dropped > 0:
		return fmt.Sprintf("input: %d of %d bytes not sent to %s%s", dropped, sent+dropped, name, why)
	}
	return ""
}
