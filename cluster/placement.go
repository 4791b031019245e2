package cluster

import (
	"fmt"
	"slices"
	"time"
)

// recomputeLocked works out which movable consoles are this gateway's now
// and, for each that just became so, when it may start: at once if its
// holder before left the cluster (or there was none), after the grace
// period if that holder is still alive. Its holder before is the owner
// in the previous view of the members; wasLive is whether this gateway was
// live then: if not (it joins, or comes back from a fence), the holder is
// the one the others computed without it.
func (g *Gateway) recomputeLocked(wasLive bool) {
	all := names(g.members)
	var others []string
	for _, n := range all {
		if n != g.opts.Name {
			others = append(others, n)
		}
	}
	// Back from a fence under the same lease, with its key in the view all
	// along: etcd never expired the lease, so no other gateway took the
	// consoles it held (they do only when its key is deleted); it takes
	// them back as they were (a grace period still running keeps running).
	back := !wasLive && g.lease != 0 && g.lease == g.fenced && slices.Contains(g.lastView, g.opts.Name)
	if !back && wasLive && !g.live {
		g.heldAtFence = make(map[string]held, len(g.assigned))
		for c := range g.assigned {
			g.heldAtFence[c] = held{g.notBefore[c], g.from[c]}
		}
	}
	now := time.Now()
	next := map[string]bool{}
	for c, pinned := range g.consoles {
		if pinned != "" || !g.live || Owner(c, all) != g.opts.Name {
			continue
		}
		next[c] = true
		if g.assigned[c] && wasLive {
			continue
		}
		if was, ok := g.heldAtFence[c]; ok && back {
			g.from[c], g.notBefore[c] = was.from, was.notBefore
			if !was.notBefore.After(now) { // it had started here: taken back
				g.from[c], g.notBefore[c] = handOver{back: true}, now
			}
			continue
		}
		prev := Owner(c, others)
		if wasLive {
			prev = Owner(c, g.lastView)
		}
		h := handOver{prev: prev}
		if prev == g.opts.Name {
			h.prev = "" // a console new to this gateway's view: nobody held it
			g.notBefore[c] = now
		} else if prev != "" && slices.Contains(all, prev) {
			g.notBefore[c] = now.Add(g.grace)
		} else {
			h.left = prev != ""
			g.notBefore[c] = now
		}
		g.from[c] = h
	}
	for c := range g.assigned {
		if !next[c] {
			delete(g.notBefore, c)
			delete(g.from, c)
		}
	}
	if g.live {
		g.heldAtFence = nil
	}
	g.assigned = next
	g.lastView = all
	g.armLocked(now)
}

// armLocked sets the timer for the next grace period to end.
func (g *Gateway) armLocked(now time.Time) {
	var first time.Time
	for _, t := range g.notBefore {
		if t.After(now) && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	if !first.IsZero() {
		g.timer = time.AfterFunc(first.Sub(now)+10*time.Millisecond, g.opts.Changed)
	}
}

// RunsHere says whether this gateway may run console name now: a pinned
// console on its own gateway always (it never moves, so it needs no
// fence); a movable one while this gateway is live, the console is
// assigned to it, and its grace period, if any, is over.
func (g *Gateway) RunsHere(name string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	pinned, ok := g.consoles[name]
	if !ok {
		return false
	}
	if pinned != "" {
		return pinned == g.opts.Name
	}
	nb, ok := g.notBefore[name]
	return g.live && g.assigned[name] && ok && !time.Now().Before(nb)
}

// Holder is the gateway that holds console name in this gateway's view:
// its pinned gateway if that is alive, else the rendezvous owner among the
// live members. ok is false when nobody can hold it; gw then names the
// pinned gateway that is not alive ("" for a movable console with no
// member at all).
func (g *Gateway) Holder(name string) (m Member, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	pinned, known := g.consoles[name]
	if !known {
		return Member{}, false
	}
	gw := pinned
	if gw == "" {
		gw = Owner(name, names(g.members))
	}
	if e, alive := g.members[gw]; alive {
		return e.Member, true
	}
	return Member{Name: gw}, false
}

// Member is the live gateway name, if it is one.
func (g *Gateway) Member(name string) (Member, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.members[name]
	return e.Member, ok
}

// Members is the live gateways, by name.
func (g *Gateway) Members() []Member {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Member, 0, len(g.members))
	for _, n := range names(g.members) {
		out = append(out, g.members[n].Member)
	}
	return out
}

// Live says whether this gateway is in the cluster with a fresh lease
// (etcd reachable); false while it is fenced.
func (g *Gateway) Live() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.live
}

// Fences is how many times this gateway fenced itself.
func (g *Gateway) Fences() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.fences
}

// Arrival is the mark for console name starting on this gateway: which
// gateway holds it now and where it came from.
func (g *Gateway) Arrival(name string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.from[name]
	switch {
	case g.consoles[name] != "":
		return fmt.Sprintf("held by gateway %s (pinned)", g.opts.Name)
	case h.back:
		return fmt.Sprintf("held by gateway %s: taken back after this gateway was cut off from etcd (fenced); no other gateway held it meanwhile", g.opts.Name)
	case h.prev == "":
		return fmt.Sprintf("held by gateway %s", g.opts.Name)
	case h.left:
		return fmt.Sprintf("held by gateway %s: taken over from %s, which left the cluster", g.opts.Name, h.prev)
	}
	return fmt.Sprintf("held by gateway %s: handed over by %s", g.opts.Name, h.prev)
}

// Departure is why console name stops on this gateway although it is
// still configured: moved to another gateway, or this one fenced itself.
func (g *Gateway) Departure(name string) string {
	g.mu.Lock()
	live := g.live
	g.mu.Unlock()
	if !live {
		return fmt.Sprintf("gateway %s lost contact with etcd and let go of the console (fenced); another gateway takes it over", g.opts.Name)
	}
	if m, ok := g.Holder(name); ok {
		return fmt.Sprintf("gateway %s handed the console over to %s", g.opts.Name, m.Name)
	}
	return fmt.Sprintf("gateway %s let go of the console", g.opts.Name)
}

// held is a movable console this gateway held, or waited to hold, when it
// fenced itself.
type held struct {
	notBefore time.Time
	from      handOver
}
