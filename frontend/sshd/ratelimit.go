package sshd

import (
	"net"
	"sync"
	"time"
)

// authLimiter refuses a source address that keeps failing to authenticate:
// after maxFailures refused keys within failureWindow, every connection from
// it is dropped before the SSH handshake until the window has passed with
// no new failure. A guessing client gets nothing and costs little.
type authLimiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time
	now      func() time.Time
}

const (
	maxFailures   = 20
	failureWindow = time.Minute
)

func newAuthLimiter() *authLimiter {
	return &authLimiter{failures: map[string][]time.Time{}, now: time.Now}
}

func host(addr net.Addr) string {
	if h, _, err := net.SplitHostPort(addr.String()); err == nil {
		return h
	}
	return addr.String()
}

// recent drops failures older than the window; called with mu held.
func (l *authLimiter) recent(h string) []time.Time {
	cut := l.now().Add(-failureWindow)
	ts := l.failures[h]
	i := 0
	for i < len(ts) && ts[i].Before(cut) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.failures, h)
	} else {
		l.failures[h] = ts
	}
	return ts
}

// blocked reports whether addr is over the limit.
func (l *authLimiter) blocked(addr net.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(host(addr))) >= maxFailures
}

// failed records a refused key from addr.
func (l *authLimiter) failed(addr net.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := host(addr)
	ts := l.recent(h)
	if len(ts) < 2*maxFailures { // bounded memory per address
		l.failures[h] = append(ts, l.now())
	}
	if len(l.failures) > 100000 { // bounded overall: forget the lot rather than grow
		l.failures = map[string][]time.Time{}
	}
}
