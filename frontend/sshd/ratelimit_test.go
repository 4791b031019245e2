package sshd

import (
	"net"
	"testing"
	"time"
)

func TestAuthLimiter(t *testing.T) {
	l := newAuthLimiter()
	clock := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return clock }
	bad := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5000}
	other := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 5000}
	for i := 0; i < maxFailures-1; i++ {
		l.failed(&net.TCPAddr{IP: bad.IP, Port: 6000 + i}) // any source port
		clock = clock.Add(time.Second)
	}
	if l.blocked(bad) {
		t.Fatal("blocked below the limit")
	}
	l.failed(bad)
	if !l.blocked(bad) || l.blocked(other) {
		t.Fatalf("limit: bad %v other %v", l.blocked(bad), l.blocked(other))
	}
	clock = clock.Add(failureWindow)
	if l.blocked(bad) {
		t.Error("still blocked after a quiet window")
	}
}
