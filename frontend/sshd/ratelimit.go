package sshd

import (
	"net"
	"sync"
	"time"
)

// authLimiter blocks a source address whose connections keep ending
// without logging in. What counts is connections, not keys: an ssh-agent
// offering many keys before the right one costs nothing. Blocking is kept
// narrow because many people may share one address (a bastion host):
//
//   - an address is blocked after maxFailedConns failed connections within
//     failureWindow, and only if nobody logged in from it within
//     trustWindow: an address that also produces logins is never blocked
//     (its failures are still logged and audited);
//   - a blocked address stays blocked until it has been quiet for
//     failureWindow: every connection it makes meanwhile restarts the wait;
//   - a blocked connection completes the SSH handshake and is shown the
//     reason (an SSH banner) before all its keys are refused.
type authLimiter struct {
	mu    sync.Mutex
	addrs map[string]*addrRecord
	now   func() time.Time
}

type addrRecord struct {
	failures    []time.Time // connections that ended without logging in, oldest first
	lastSuccess time.Time
	blocked     bool
	lastTry     time.Time // while blocked: the last connection
}

const (
	maxFailedConns = 30
	failureWindow  = time.Minute
	trustWindow    = 10 * time.Minute
	maxAddrs       = 100000 // addresses remembered; beyond, the oldest records are forgotten
)

func newAuthLimiter() *authLimiter {
	return &authLimiter{addrs: map[string]*addrRecord{}, now: time.Now}
}

func host(addr net.Addr) string {
	if h, _, err := net.SplitHostPort(addr.String()); err == nil {
		return h
	}
	return addr.String()
}

// record returns h's record, dropping failures older than the window and
// lifting a block after a quiet window; called with mu held.
func (l *authLimiter) record(h string) *addrRecord {
	now := l.now()
	r := l.addrs[h]
	if r == nil {
		if len(l.addrs) >= maxAddrs {
			l.prune(now)
		}
		r = &addrRecord{}
		l.addrs[h] = r
	}
	cut := now.Add(-failureWindow)
	i := 0
	for i < len(r.failures) && !r.failures[i].After(cut) {
		i++
	}
	r.failures = r.failures[i:]
	if r.blocked && !r.lastTry.After(cut) { // quiet for a window: a fresh start
		r.blocked, r.failures = false, nil
	}
	return r
}

// prune forgets records with nothing recent; if that is not enough, all.
func (l *authLimiter) prune(now time.Time) {
	for h, r := range l.addrs {
		last := r.lastTry
		if n := len(r.failures); n > 0 && r.failures[n-1].After(last) {
			last = r.failures[n-1]
		}
		if now.Sub(last) > failureWindow && now.Sub(r.lastSuccess) > trustWindow {
			delete(l.addrs, h)
		}
	}
	if len(l.addrs) >= maxAddrs {
		l.addrs = map[string]*addrRecord{}
	}
}

// admit is called for each new connection from h: when h is blocked it
// returns when the block would end if h stopped now, and how many failed
// connections h made within the window; n is 0 when h is not blocked.
func (l *authLimiter) admit(h string) (until time.Time, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.record(h)
	if !r.blocked {
		return time.Time{}, 0
	}
	r.lastTry = l.now()
	return r.lastTry.Add(failureWindow), max(len(r.failures), 1)
}

// failed records a connection from h that ended without logging in. It
// returns the number of failures when this one started a block, else 0.
func (l *authLimiter) failed(h string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.record(h)
	now := l.now()
	if len(r.failures) < 2*maxFailedConns { // bounded memory per address
		r.failures = append(r.failures, now)
	}
	if r.blocked || len(r.failures) < maxFailedConns || now.Sub(r.lastSuccess) <= trustWindow {
		return 0
	}
	r.blocked, r.lastTry = true, now
	return len(r.failures)
}

// succeeded records a login from h.
func (l *authLimiter) succeeded(h string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.record(h)
	r.lastSuccess = l.now()
	r.blocked = false
}
