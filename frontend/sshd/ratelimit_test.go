package sshd

import (
	"testing"
	"time"
)

func TestAuthLimiter(t *testing.T) {
	l := newAuthLimiter()
	clock := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return clock }
	const bad, other = "192.0.2.1", "192.0.2.2"
	for i := 0; i < maxFailedConns-1; i++ {
		if l.failed(bad) != 0 {
			t.Fatalf("blocked after %d failed connections", i+1)
		}
		clock = clock.Add(time.Second)
	}
	if _, n := l.admit(bad); n != 0 {
		t.Fatal("blocked below the limit")
	}
	if n := l.failed(bad); n != maxFailedConns {
		t.Fatalf("the limit did not start a block: %d", n)
	}
	if _, n := l.admit(other); n != 0 {
		t.Fatal("another address is blocked too")
	}
	// Trying while blocked keeps it blocked: it must be quiet for a window.
	for i := 0; i < 3; i++ {
		clock = clock.Add(failureWindow - time.Second)
		until, n := l.admit(bad)
		if n == 0 || !until.Equal(clock.Add(failureWindow)) {
			t.Fatalf("try %d while blocked: n %d until %v", i, n, until)
		}
		l.failed(bad)
	}
	clock = clock.Add(failureWindow)
	if _, n := l.admit(bad); n != 0 {
		t.Error("still blocked after a quiet window")
	}
	if l.failed(bad) != 0 {
		t.Error("one failure after the block was lifted blocks again")
	}
}

// An address that also logs people in (a bastion host) is never blocked.
func TestAuthLimiterSharedAddress(t *testing.T) {
	l := newAuthLimiter()
	clock := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return clock }
	const bastion = "198.51.100.7"
	l.succeeded(bastion)
	for i := 0; i < 3*maxFailedConns; i++ {
		clock = clock.Add(100 * time.Millisecond)
		if l.failed(bastion) != 0 {
			t.Fatalf("address with a recent login blocked after %d failures", i+1)
		}
	}
	clock = clock.Add(trustWindow) // nobody logged in for a while: failures block it again
	for i := 0; i < maxFailedConns; i++ {
		l.failed(bastion)
	}
	if _, n := l.admit(bastion); n == 0 {
		t.Error("not blocked once its last login is older than the trust window")
	}
	l.succeeded(bastion)
	if _, n := l.admit(bastion); n != 0 {
		t.Error("a login does not lift the block")
	}
}

func TestAuthLimiterBoundedMemory(t *testing.T) {
	l := newAuthLimiter()
	for i := 0; i < maxAddrs+10; i++ {
		l.failed(string(rune(i)) + "x")
	}
	if len(l.addrs) > maxAddrs {
		t.Errorf("%d addresses remembered", len(l.addrs))
	}
}
