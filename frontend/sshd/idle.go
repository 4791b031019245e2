package sshd

import (
	"sync/atomic"
	"time"
)

// idleWatch sends on the channel it returns, with the timeout, when an
// interactive session has been idle for the console's idle_timeout: no
// keystroke, and for a session that does not write, no output either (a
// viewer is watching while the console prints). Nil channel: no timeout.
func (a *attachment) idleWatch() (<-chan time.Duration, func()) {
	if !a.pty {
		return nil, func() {}
	}
	return watchIdle(a.s.pol().IdleTimeoutOf(a.cs.Name()), &a.lastKey, &a.lastOut, a.cs.Writer)
}

// watchIdle is idleWatch for any session: lastKey and lastOut are unix
// nanos of the last keystroke and the last output shown; writes says
// whether the session writes (then only keystrokes count).
func watchIdle(timeout time.Duration, lastKey, lastOut *atomic.Int64, writes func() bool) (<-chan time.Duration, func()) {
	if timeout <= 0 {
		return nil, func() {}
	}
	lastKey.Store(time.Now().UnixNano())
	c := make(chan time.Duration, 1)
	stop := make(chan struct{})
	go func() {
		for {
			last := lastKey.Load()
			if out := lastOut.Load(); !writes() && out > last {
				last = out
			}
			wait := time.Until(time.Unix(0, last).Add(timeout))
			if wait <= 0 {
				c <- timeout
				return
			}
			t := time.NewTimer(wait)
			select {
			case <-stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
	return c, func() { close(stop) }
}
