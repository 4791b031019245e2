package cluster

import (
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"consoled/internal/testharness"
)

// twoGateways starts gw1 and gw2 on one etcd over n movable consoles,
// checks till the test ends that no console runs on both at once, and waits
// until each sees both live.
func twoGateways(t *testing.T, n int) ([]*testGateway, []Console) {
	t.Helper()
	etcd := testharness.StartEtcd(t, 1)
	consoles := movable(n)
	gws := []*testGateway{startGateway(t, etcd, "gw1", consoles), startGateway(t, etcd, "gw2", consoles)}
	t.Cleanup(watchHolders(t, gws, consoles))
	waitMembers(t, gws)
	return gws, consoles
}

// Keep-alive answers that come late (by more than TTL/6, the slack of a
// fence at TTL/2 after the last answer, but well under the lease) do not
// fence a healthy gateway: it counts a renewal from when it was sent.
func TestLateKeepAliveRepliesDoNotFence(t *testing.T) {
	gws, consoles := twoGateways(t, 10)
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
	gws, consoles := twoGateways(t, 20)
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

// Coming back from a fence keeps what a console's placement was: one that
// had started here is taken back at once, one still in its grace period
// (moving here from a live holder) waits out the rest of it and keeps
// naming that holder. The gateway's view and lease are set by hand here:
// the order of events is the point, not etcd's timing.
func TestBackFromFenceKeepsGrace(t *testing.T) {
	g := New(Options{Name: "gw3", TTL: testTTL})
	g.SetConsoles(movable(30))
	const own = clientv3.LeaseID(3)
	view := map[string]entry{"gw1": {Member{Name: "gw1"}, 1}, "gw2": {Member{Name: "gw2"}, 2}}
	g.mu.Lock()
	g.lease, g.fenceAt = own, time.Now().Add(time.Hour)
	g.mu.Unlock()
	g.setView(view)
	// gw3 joins: its share moves from gw1 and gw2 after the grace period.
	joined := map[string]entry{"gw3": {Member{Name: "gw3"}, own}}
	for k, v := range view {
		joined[k] = v
	}
	g.setView(joined)
	mine := []string{}
	for _, c := range movable(30) {
		if Owner(c.Name, []string{"gw1", "gw2", "gw3"}) == "gw3" {
			mine = append(mine, c.Name)
		}
	}
	if len(mine) < 2 {
		t.Fatalf("gw3 owns %v", mine)
	}
	started, waiting := mine[0], mine[1]
	g.mu.Lock()
	g.notBefore[started] = time.Now().Add(-time.Second) // its grace is over
	g.mu.Unlock()
	if !g.RunsHere(started) || g.RunsHere(waiting) {
		t.Fatalf("before the fence: %s runs %v, %s runs %v", started, g.RunsHere(started), waiting, g.RunsHere(waiting))
	}
	wasFrom := g.Arrival(waiting)
	fence := func(at time.Time) {
		g.mu.Lock()
		g.fenceAt = at
		g.updateLiveLocked()
		g.mu.Unlock()
	}
	fence(time.Now().Add(-time.Millisecond))
	if g.Live() || g.RunsHere(started) {
		t.Fatal("fenced, gw3 still holds its consoles")
	}
	fence(time.Now().Add(time.Hour)) // a renewal answered: back under the same lease
	if !g.RunsHere(started) {
		t.Errorf("%s, started before the fence, is not taken back at once", started)
	}
	if a, want := g.Arrival(started), "held by gateway gw3: taken back after this gateway was cut off from etcd (fenced)"; !strings.HasPrefix(a, want) {
		t.Errorf("%s's mark: %q, want %q...", started, a, want)
	}
	if g.RunsHere(waiting) {
		t.Errorf("%s starts before its grace period ends", waiting)
	}
	if a := g.Arrival(waiting); a != wasFrom || !strings.Contains(a, "handed over by gw") {
		t.Errorf("%s's mark: %q, was %q before the fence", waiting, a, wasFrom)
	}
}
