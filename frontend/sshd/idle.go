package sshd

import "time"

// idleWatch sends on the channel it returns, with the timeout, when an
// interactive session has been idle for the console's idle_timeout: no
// keystroke, and for a session that does not write, no output either (a
// viewer is watching while the console prints). Nil channel: no timeout.
func (a *attachment) idleWatch() (<-chan time.Duration, func()) {
	timeout := a.s.pol().IdleTimeoutOf(a.cs.Name())
	if timeout <= 0 || !a.pty {
		return nil, func() {}
	}
	a.lastKey.Store(time.Now().UnixNano())
	c := make(chan time.Duration, 1)
	stop := make(chan struct{})
	go func() {
		for {
			last := a.lastKey.Load()
			if out := a.lastOut.Load(); !a.cs.Writer() && out > last {
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
