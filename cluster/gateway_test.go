package cluster

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"consoled/internal/testharness"
)

const testTTL = 3 * time.Second

// testGateway is a Gateway with its own path to etcd (a proxy the test can
// cut) and its own client.
type testGateway struct {
	*Gateway
	proxy  *testharness.Proxy
	cancel context.CancelFunc
	done   chan struct{}
}

func startGateway(t *testing.T, etcd *testharness.Etcd, name string, consoles []Console) *testGateway {
	t.Helper()
	proxy := testharness.StartProxy(t, etcd.Endpoints[0][len("http://"):])
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + proxy.Addr}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	g := New(Options{Name: name, Advertise: "127.0.0.1:1", HostKey: "ssh-ed25519 AAAA " + name, Client: cli, TTL: testTTL})
	g.SetConsoles(consoles)
	ctx, cancel := context.WithCancel(context.Background())
	tg := &testGateway{Gateway: g, proxy: proxy, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(tg.done); g.Run(ctx) }()
	t.Cleanup(tg.stop)
	return tg
}

func (tg *testGateway) stop() {
	tg.cancel()
	<-tg.done
}

func movable(n int) []Console {
	var cs []Console
	for i := range n {
		cs = append(cs, Console{Name: fmt.Sprintf("db%02d", i)})
	}
	return cs
}

// watchHolders samples which gateways run each console every 20ms and
// fails the test if two ever run the same one.
// startThree starts gateways gw1, gw2 and gw3 on etcd, all given consoles.
func startThree(t *testing.T, etcd *testharness.Etcd, consoles []Console) []*testGateway {
	var gws []*testGateway
	for _, n := range []string{"gw1", "gw2", "gw3"} {
		gws = append(gws, startGateway(t, etcd, n, consoles))
	}
	return gws
}

func watchHolders(t *testing.T, gws []*testGateway, consoles []Console) (stop func()) {
	var wg sync.WaitGroup
	quit := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-quit:
				return
			case <-time.After(20 * time.Millisecond):
			}
			for _, c := range consoles {
				var on []string
				for _, g := range gws {
					if g.RunsHere(c.Name) {
						on = append(on, g.Name())
					}
				}
				if len(on) > 1 {
					t.Errorf("%s runs on %v at once", c.Name, on)
				}
			}
		}
	}()
	return func() { close(quit); wg.Wait() }
}

// waitMembers waits until every gateway sees all of gws live.
func waitMembers(t *testing.T, gws []*testGateway) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		for _, g := range gws {
			if len(g.Members()) != len(gws) || !g.Live() {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the gateways do not all see each other")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitAll waits until every console runs on exactly one of gws.
func waitAll(t *testing.T, gws []*testGateway, consoles []Console, within time.Duration) map[string]string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		where := map[string]string{}
		ok := true
		for _, c := range consoles {
			for _, g := range gws {
				if g.RunsHere(c.Name) {
					where[c.Name] = g.Name()
				}
			}
			if where[c.Name] == "" {
				ok = false
			}
		}
		if ok {
			return where
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, consoles run: %v (want all %d)", within, where, len(consoles))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMembershipSpreadsAndAgrees(t *testing.T) {
	etcd := testharness.StartEtcd(t, 1)
	consoles := append(movable(30), Console{Name: "web07", Pinned: "gw2"})
	gws := startThree(t, etcd, consoles)
	stop := watchHolders(t, gws, consoles)
	defer stop()
	waitMembers(t, gws)
	where := waitAll(t, gws, consoles, 30*time.Second)
	if where["web07"] != "gw2" {
		t.Errorf("pinned web07 runs on %s", where["web07"])
	}
	count := map[string]int{}
	for c, g := range where {
		count[g]++
		for _, other := range gws {
			if m, ok := other.Holder(c); !ok || m.Name != g {
				t.Errorf("%s sees %s held by %v (ok %v); it runs on %s", other.Name(), c, m.Name, ok, g)
			}
		}
	}
	if len(count) != 3 {
		t.Errorf("consoles not spread over the 3 gateways: %v", count)
	}
	if m, ok := gws[0].Member("gw3"); !ok || m.HostKey != "ssh-ed25519 AAAA gw3" || m.Advertise != "127.0.0.1:1" {
		t.Errorf("gw1's view of gw3: %+v %v", m, ok)
	}
}

// A steady cluster writes nothing to etcd: the revision stays put.
func TestSteadyClusterWritesNothing(t *testing.T) {
	etcd := testharness.StartEtcd(t, 1)
	consoles := movable(20)
	gws := startThree(t, etcd, consoles)
	// Every gateway has published itself (all consoles may run on the
	// first to join while the others are still publishing).
	waitMembers(t, gws)
	waitAll(t, gws, consoles, 30*time.Second)
	cli, err := clientv3.New(clientv3.Config{Endpoints: etcd.Endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	rev := func() int64 {
		r, err := cli.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		return r.Header.Revision
	}
	before := rev()
	time.Sleep(3 * testTTL) // several rounds of keep-alives
	if after := rev(); after != before {
		t.Errorf("etcd revision went from %d to %d in a steady cluster", before, after)
	}
}

// A gateway cut off from etcd stops its movable consoles (fences) before
// its lease expires; the others take them over only after that, and its
// pinned consoles keep running.
func TestCutGatewayFencesBeforeTakeover(t *testing.T) {
	etcd := testharness.StartEtcd(t, 1)
	consoles := append(movable(30), Console{Name: "web07", Pinned: "gw1"})
	gws := startThree(t, etcd, consoles)
	stop := watchHolders(t, gws, consoles)
	defer stop()
	waitMembers(t, gws)
	where := waitAll(t, gws, consoles, 30*time.Second)
	var mine []string
	for c, g := range where {
		if g == "gw1" && c != "web07" {
			mine = append(mine, c)
		}
	}
	if len(mine) == 0 {
		t.Fatalf("gw1 holds no movable console: %v", where)
	}
	// A survivor that fences itself too (under load its keep-alives can
	// come later than TTL/2) takes its consoles back after that fence, and
	// its arrival mark then tells of that fence, not of gw1's departure.
	fencesBefore := map[string]int{gws[1].Name(): gws[1].Fences(), gws[2].Name(): gws[2].Fences()}
	cut := time.Now()
	gws[0].proxy.Cut()
	// gw1 lets go fenceMargin before its lease can expire: the last renewal
	// it sent before the cut was sent at most renewEvery before it.
	deadline := cut.Add(testTTL - renewEvery(testTTL))
	for _, c := range mine {
		for gws[0].RunsHere(c) {
			if time.Now().After(deadline) {
				t.Fatalf("gw1 still runs %s %v after the cut", c, time.Since(cut))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	fenced := time.Since(cut)
	if !gws[0].RunsHere("web07") {
		t.Error("the pinned console stopped with the fence")
	}
	// The survivors take gw1's consoles once its lease is gone.
	where = waitAll(t, gws[1:], consoles[:30], 3*testTTL+10*time.Second)
	took := time.Since(cut)
	t.Logf("gw1 fenced after %v; its consoles moved after %v", fenced, took)
	if took < fenced {
		t.Errorf("consoles moved %v after the cut, before gw1 fenced (%v)", took, fenced)
	}
	for _, c := range mine {
		for _, g := range gws[1:] {
			if n := g.Fences() - fencesBefore[g.Name()]; n > 0 && where[c] == g.Name() {
				t.Logf("%s fenced itself %d time(s) meanwhile: %s's mark is %q", g.Name(), n, c, g.Arrival(c))
				continue
			}
			if where[c] == g.Name() {
				if a := g.Arrival(c); a != "held by gateway "+g.Name()+": taken over from gw1, which left the cluster" {
					t.Errorf("%s's arrival mark on %s: %q", c, g.Name(), a)
				}
			}
		}
	}
	// Back: gw1 rejoins, takes only what is assigned, after the others let go.
	gws[0].proxy.Restore()
	waitAll(t, gws, consoles, 30*time.Second)
	deadline = time.Now().Add(30 * time.Second)
	for !gws[0].Live() {
		if time.Now().After(deadline) {
			t.Fatal("gw1 did not come back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitAll(t, gws, consoles, 30*time.Second)
	if gws[0].Fences() == 0 {
		t.Error("gw1 never fenced")
	}
}

// A gateway that joins takes its share only after the old holders let go:
// never two holders, and only the consoles it wins move.
func TestJoinHandsOverSafely(t *testing.T) {
	etcd := testharness.StartEtcd(t, 1)
	consoles := movable(30)
	gws := []*testGateway{startGateway(t, etcd, "gw1", consoles), startGateway(t, etcd, "gw2", consoles)}
	waitMembers(t, gws)
	before := waitAll(t, gws, consoles, 30*time.Second)
	stop := watchHolders(t, append(gws, nil)[:2], consoles)
	gw3 := startGateway(t, etcd, "gw3", consoles)
	stop()
	all := append(gws, gw3)
	stop = watchHolders(t, all, consoles)
	defer stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		after := waitAll(t, all, consoles, 30*time.Second)
		moved, wrong := 0, 0
		for c, g := range after {
			if g != before[c] {
				moved++
				if g != "gw3" {
					wrong++
				}
			}
		}
		if moved > 0 && wrong == 0 && moved == countOwned(consoles, "gw3", []string{"gw1", "gw2", "gw3"}) {
			if a := gw3.Arrival(firstOn(after, "gw3")); a != "" && !containsAny(a, "handed over by gw1", "handed over by gw2") {
				t.Errorf("arrival mark %q does not name the old holder", a)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the join: %d moved (%d not to gw3): %v", moved, wrong, after)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func countOwned(cs []Console, gw string, members []string) int {
	n := 0
	for _, c := range cs {
		if Owner(c.Name, members) == gw {
			n++
		}
	}
	return n
}

func firstOn(where map[string]string, gw string) string {
	for c, g := range where {
		if g == gw {
			return c
		}
	}
	return ""
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if len(s) >= len(sub) {
			for i := 0; i+len(sub) <= len(s); i++ {
				if s[i:i+len(sub)] == sub {
					return true
				}
			}
		}
	}
	return false
}
