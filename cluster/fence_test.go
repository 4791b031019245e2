package cluster

import (
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"consoled/internal/testharness"
)

// Keep-alive answers that come late (by more than TTL/6, the slack of a
// fence at TTL/2 after the last answer, but well under the lease) do not
// fence a healthy gateway: it counts a renewal from when it was sent.
func TestLateKeepAliveRepliesDoNotFence(t *testing.T) {
	etcd := testharness.StartEtcd(t, 1)
	consoles := movable(10)
	gws := []*testGateway{startGateway(t, etcd, "gw1", consoles), startGateway(t, etcd, "gw2", consoles)}
	stop := watchHolders(t, gws, consoles)
	defer stop()
	waitMembers(t, gws)
	before := waitAll(t, gws, consoles, 30*time.Second)
	late := testTTL * 7 / 30 // 0.7 s at 3 s: more than TTL/6 (0.5 s)
	gws[0].proxy.DelayReplies(late)
	end := time.Now().Add(4 * testTTL)
	for time.Now().Before(end) {
		if n := gws[0].Fences(); n > 0 || !gws[0].Live() {
			t.Fatalf("gw1 fenced itself (%d times) with its etcd answers %v late", n, late)
		}
		time.Sleep(20 * time.Millisecond)
	}
	gws[0].proxy.DelayReplies(0)
	if after := waitAll(t, gws, consoles, 30*time.Second); !sameHolders(before, after) {
		t.Errorf("consoles moved while gw1's answers were late: %v, then %v", before, after)
	}
}

// A gateway cut off for less than its lease fences itself, then takes its
// consoles back when etcd answers again, at once (nobody else held them),
// and its mark says so rather than naming a gateway that never held them.
func TestFencedGatewayTakesItsConsolesBack(t *testing.T) {
	etcd := testharness.StartEtcd(t, 1)
	consoles := movable(20)
	gws := []*testGateway{startGateway(t, etcd, "gw1", consoles), startGateway(t, etcd, "gw2", consoles)}
	stop := watchHolders(t, gws, consoles)
	defer stop()
	waitMembers(t, gws)
	where := waitAll(t, gws, consoles, 30*time.Second)
	mine := firstOn(where, "gw1")
	if mine == "" {
		t.Fatalf("gw1 holds no console: %v", where)
	}
	// The cut must end before the lease expires (fenceMargin after the
	// fence); under load it may not, and gw1 then rejoins under a new
	// lease: try again.
	for try := 1; ; try++ {
		lease := leaseOf(gws[0].Gateway)
		gws[0].proxy.Cut()
		deadline := time.Now().Add(30 * time.Second)
		for gws[0].Live() {
			if time.Now().After(deadline) {
				t.Fatal("gw1 did not fence itself when cut off")
			}
			time.Sleep(5 * time.Millisecond)
		}
		gws[0].proxy.Restore()
		waitAll(t, gws, consoles, 30*time.Second)
		for !gws[0].Live() {
			if time.Now().After(deadline) {
				t.Fatal("gw1 did not come back")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if leaseOf(gws[0].Gateway) != lease {
			if try == 3 {
				t.Fatal("gw1's lease expired during each of 3 short cuts")
			}
			t.Logf("try %d: gw1's lease expired during the cut; again", try)
			waitAll(t, gws, consoles, 30*time.Second)
			continue
		}
		break
	}
	after := waitAll(t, gws, consoles, 30*time.Second)
	if after[mine] != "gw1" {
		t.Fatalf("%s runs on %s after gw1 came back", mine, after[mine])
	}
	want := "held by gateway gw1: taken back after this gateway was cut off from etcd (fenced)"
	if a := gws[0].Arrival(mine); !strings.HasPrefix(a, want) {
		t.Errorf("gw1's mark on %s: %q, want %q...", mine, a, want)
	}
}

func leaseOf(g *Gateway) clientv3.LeaseID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lease
}

func sameHolders(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
