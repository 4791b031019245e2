package sshd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"consoled/frontend"
)

// loop is what an interactive session (one console, or a set) waits on
// besides its output: BREAK requests (OpenSSH's ~B), the end of its input,
// and its idle timeout.
type loop struct {
	breaks chan bool
	input  chan inputEnd
	idle   <-chan time.Duration // nil: no idle timeout
}

// startLoop takes the session's BREAK requests, runs input on a goroutine
// of its own and starts idleWatch; stop undoes what can be undone (input
// ends with the session).
func (ss *session) startLoop(input func() inputEnd, idleWatch func() (<-chan time.Duration, func())) (l loop, stop func()) {
	l.breaks = make(chan bool, 1)
	ss.Break(l.breaks)
	l.input = make(chan inputEnd, 1)
	go func() { l.input <- input() }()
	idle, stopIdle := idleWatch()
	l.idle = idle
	return l, func() { stopIdle(); ss.Break(nil) }
}

// idled ends a session that was idle for d: it is told, and exits 1.
func (ss *session) idled(notice func(string), d time.Duration) int {
	notice(fmt.Sprintf("disconnected: idle for %v (idle_timeout)", d))
	ss.told = true
	return 1
}

// ended tells the session why its context ended when that is news to it:
// consoled shutting down, or its access ended (a reload, the key's
// expiry).
func (ss *session) ended(notice func(string)) {
	cause := context.Cause(ss.ctx)
	if errors.Is(cause, ErrShutdown) || errors.Is(cause, frontend.ErrRevoked) {
		notice("disconnected: " + cause.Error())
		ss.told = true
	}
}
