package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
	"consoled/logstore"
)

// kill9 kills gateway name with SIGKILL (its PID only) and waits for it.
func (c *gwCluster) kill9(name string) {
	d := c.gws[name]
	d.cmd.Process.Kill()
	<-d.exited
}

// survivors are the gateways not in dead.
func survivors(dead map[string]bool) []string {
	var out []string
	for _, gw := range []string{"gw1", "gw2", "gw3"} {
		if !dead[gw] {
			out = append(out, gw)
		}
	}
	return out
}

// A gateway killed with SIGKILL: its movable consoles come up on a
// survivor within 15 s, the survivor's log marks the hand-over with both
// names, the telnet peer never has two connections at once, and once the
// dead gateway is back, `logs` on any gateway shows the console's history
// from before and after, in time order.
func TestClusterFailover(t *testing.T) {
	c := startCluster(t)
	all := []string{"gw1", "gw2", "gw3"}
	where := c.waitUp("gw1", 90*time.Second, all...)
	for _, gw := range []string{"gw2", "gw3"} {
		c.waitUp(gw, 30*time.Second, all...)
	}
	// Output before: vm1 prints a line, db01's host prints one.
	if _, errOut, code := c.gws["gw3"].ssh(c.alice, "", "send", "vm1", "echo before-$((40+2))"); code != 0 {
		t.Fatalf("send: %d %s", code, errOut)
	}
	testharness.ReadFileUntil(t, filepath.Join(c.dirs[where["vm1"]], "logs", "vm1.log"), "before-42", 20*time.Second)
	host := c.bmc.HostSerial()
	host.Write([]byte("\r\ndb01 before-failover\r\n"))
	testharness.ReadFileUntil(t, filepath.Join(c.dirs[where["db01"]], "logs", "db01.log"), "db01 before-failover", 20*time.Second)

	dead := map[string]bool{where["vm1"]: true, where["db01"]: true}
	if len(dead) == 3 {
		t.Fatal("cannot happen: two consoles")
	}
	alive := survivors(dead)
	// Someone watches vm1 through a surviving gateway when its holder dies.
	tm := c.gws[alive[0]].interactive(c.bob, "console", "vm1")
	tm.Expect(`attached to vm1 read-only`, 20*time.Second)
	killed := time.Now()
	for gw := range dead {
		c.kill9(gw)
	}
	tm.Expect(`lost gateway `+where["vm1"]+`, which held the console .*; attach again`, 20*time.Second)
	if code := tm.Wait(10 * time.Second); code != 1 {
		t.Errorf("the forwarded session exited %d when its holder died", code)
	}
	after := c.waitUp(alive[0], 60*time.Second, alive...)
	took := time.Since(killed)
	t.Logf("killed %v; vm1 now on %s, db01 on %s after %v", dead, after["vm1"], after["db01"], took)
	if took > 15*time.Second+2*time.Second { // 2 s: the time list itself takes to answer under load
		t.Errorf("failover took %v; want about 15 s at most", took)
	}
	for _, name := range []string{"vm1", "db01"} {
		log := testharness.ReadFileUntil(t, filepath.Join(c.dirs[after[name]], "logs", name+".log"),
			"held by gateway "+after[name]+": taken over from "+where[name]+", which left the cluster", 10*time.Second)
		if !strings.Contains(log, "console up") {
			t.Errorf("%s.log on %s lacks console up:\n%s", name, after[name], log)
		}
	}
	if _, errOut, code := c.gws[alive[0]].ssh(c.alice, "", "send", "vm1", "echo after-$((40+3))"); code != 0 {
		t.Fatalf("send after failover: %d %s", code, errOut)
	}
	testharness.ReadFileUntil(t, filepath.Join(c.dirs[after["vm1"]], "logs", "vm1.log"), "after-43", 20*time.Second)
	// Attaching again, through the same gateway, finds vm1 where it is now.
	tm = c.gws[alive[0]].interactive(c.bob, "console", "vm1")
	tm.Expect(`attached to vm1 read-only`, 20*time.Second)
	tm.Send("\x05cr")
	tm.Expect(`after-43`, 10*time.Second)
	tm.Send("\x05c.")
	tm.Wait(10 * time.Second)
	if _, maxOpen, total := c.telnet.Counts(); maxOpen != 1 || total < 2 {
		t.Errorf("the guest's telnet port saw %d connections at once (%d in all)", maxOpen, total)
	}

	// The dead gateways come back (same disks): logs merges the history.
	for gw := range dead {
		c.start(gw)
	}
	for _, gw := range all {
		c.waitUp(gw, 60*time.Second, all...)
	}
	for _, gw := range []string{"gw1", "gw2", "gw3"} {
		out, errOut, code := c.gws[gw].ssh(c.alice, "", "logs", "vm1")
		if code != 0 {
			t.Fatalf("logs vm1 on %s: %d %s", gw, code, errOut)
		}
		b, a := strings.Index(out, "\nbefore-42\n"), strings.LastIndex(out, "\nafter-43")
		mark := strings.Index(out, "taken over from "+where["vm1"])
		if b < 0 || a < 0 || mark < 0 || !(b < mark && mark < a) {
			t.Errorf("logs vm1 on %s: want before-42, the hand-over mark and after-43 in that order:\n%s", gw, out)
		}
		out, _, _ = c.gws[gw].ssh(c.alice, "", "logs", "db01")
		if !strings.Contains(out, "db01 before-failover") || !strings.Contains(out, "taken over from "+where["db01"]) {
			t.Errorf("logs db01 on %s lacks the history before the failover:\n%s", gw, out)
		}
	}
	if _, maxOpen, _ := c.telnet.Counts(); maxOpen != 1 {
		t.Errorf("the guest's telnet port saw %d connections at once", maxOpen)
	}
}

// markAt is the time of the first mark in path whose event contains what.
func markAt(t *testing.T, path, what string) time.Time {
	t.Helper()
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		if m, ok := logstore.ParseMark([]byte(line)); ok && strings.Contains(m.Event, what) {
			return m.Time
		}
	}
	t.Fatalf("%s has no mark %q:\n%s", path, what, b)
	return time.Time{}
}

// A gateway cut off from etcd (its sockets stay open: a partition, not a
// crash) lets go of its movable consoles in time: the others start them
// only after it stopped, never two holders; when the cut ends it rejoins.
func TestClusterFencing(t *testing.T) {
	c := startCluster(t)
	all := []string{"gw1", "gw2", "gw3"}
	where := c.waitUp("gw1", 90*time.Second, all...)
	for _, gw := range []string{"gw2", "gw3"} {
		c.waitUp(gw, 30*time.Second, all...)
	}
	cut := where["vm1"]
	cutAt := time.Now()
	c.etcdPx[cut].Cut()
	c.gws[cut].waitStderr("fenced: no etcd keep-alive answered in time", 15*time.Second)
	fenced := time.Since(cutAt)
	if m, h, code := c.metrics(cut); code != 503 || !strings.Contains(h, "etcd unreachable") || !strings.Contains(m, "consoled_cluster_etcd_reachable 0\n") || !strings.Contains(m, "consoled_cluster_fences_total 1\n") {
		t.Errorf("the cut gateway's healthz %d %q, metrics:\n%s", code, h, grepLines(m, "consoled_cluster_"))
	}
	// The cut gateway's telnet connection is gone before anyone else's.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if open, _, _ := c.telnet.Counts(); open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cut gateway still holds the telnet connection")
		}
		time.Sleep(20 * time.Millisecond)
	}
	alive := survivors(map[string]bool{cut: true})
	after := c.waitUp(alive[0], 60*time.Second, alive...)
	t.Logf("%s cut; fenced after %v; vm1 now on %s, db01 on %s after %v", cut, fenced, after["vm1"], after["db01"], time.Since(cutAt))
	if fenced > 10*time.Second*2/3+2*time.Second {
		t.Errorf("fenced %v after the cut; want within 2/3 of the TTL (6.7 s) and a little", fenced)
	}
	// The old holder let go (its mark) no later than the new one started.
	for _, name := range []string{"vm1", "db01"} {
		if where[name] != cut {
			continue
		}
		down := markAt(t, filepath.Join(c.dirs[cut], "logs", name+".log"), "lost contact with etcd and let go of the console (fenced)")
		up := markAt(t, filepath.Join(c.dirs[after[name]], "logs", name+".log"), "taken over from "+cut)
		if up.Before(down) {
			t.Errorf("%s started on %s at %v, before %s let go at %v", name, after[name], up, cut, down)
		}
	}
	if _, maxOpen, _ := c.telnet.Counts(); maxOpen != 1 {
		t.Errorf("the guest's telnet port saw %d connections at once", maxOpen)
	}
	// The cut ends: the gateway rejoins and every gateway agrees again.
	c.etcdPx[cut].Restore()
	deadline = time.Now().Add(60 * time.Second)
	for {
		s := c.gws[cut].stderr.String()
		if i := strings.Index(s, "fenced: "); i >= 0 && strings.Contains(s[i:], "live in the cluster: holding what is assigned") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not rejoin after the cut ended:\n%s", cut, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var lists []string
	for _, gw := range []string{"gw1", "gw2", "gw3"} {
		lists = append(lists, fmt.Sprint(c.waitUp(gw, 60*time.Second, all...)))
	}
	for _, l := range lists[1:] {
		if l != lists[0] {
			t.Errorf("after the rejoin, gateways disagree on who holds what: %v", lists)
		}
	}
	if _, maxOpen, _ := c.telnet.Counts(); maxOpen != 1 {
		t.Errorf("after the rejoin, the guest's telnet port saw %d connections at once", maxOpen)
	}
}
