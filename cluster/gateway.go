package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Options configure a Gateway.
type Options struct {
	Name      string           // this gateway
	Advertise string           // host:port of its SSH listener, for the others
	HostKey   string           // its SSH host key (authorized_keys format), for the others to trust
	Client    *clientv3.Client // etcd
	TTL       time.Duration    // the lease's TTL; DefaultTTL if 0
	Prefix    string           // DefaultPrefix if ""
	Logger    *slog.Logger
	// Changed is called, from the gateway's goroutines, after anything
	// that may change what RunsHere or Holder answer: members joining or
	// leaving, this gateway fencing itself or coming back, a grace period
	// ending. It should return quickly.
	Changed func()
}

// DefaultTTL is the lease TTL unless Options.TTL says otherwise.
const DefaultTTL = 10 * time.Second

// Console is one console as the cluster places it.
type Console struct {
	Name   string
	Pinned string // the gateway it is pinned to; "" for a movable console
}

// Gateway is this gateway's membership of the cluster: its lease, its view
// of the members, and which consoles it may hold.
type Gateway struct {
	opts  Options
	log   *slog.Logger
	grace time.Duration

	mu       sync.Mutex
	consoles map[string]string // name -> pinned gateway, "" if movable
	members  map[string]entry  // the view: live gateways, from the watch
	lease    clientv3.LeaseID  // the current session's lease, 0 while there is none
	renewed  time.Time         // when the latest renewal etcd answered (or the grant) was sent
	fenceAt  time.Time         // renewed + the TTL granted - fenceMargin: live until then
	fenced   clientv3.LeaseID  // the lease this gateway last fenced itself under
	// heldAtFence is the movable consoles this gateway held (or waited to
	// hold, until when) when it last fenced itself.
	heldAtFence map[string]held
	live        bool            // lease fresh and our key in the view: may hold movable consoles
	assigned    map[string]bool // movable consoles this gateway holds or waits to hold
	lastView    []string        // the member names at the last computation
	notBefore   map[string]time.Time
	from        map[string]handOver // where each assigned console came from
	timer       *time.Timer         // ends the next grace period
	fences      int
}

type entry struct {
	Member
	lease clientv3.LeaseID
}

// handOver is where a console came from when it became this gateway's.
type handOver struct {
	prev string // its holder before, "" if none
	left bool   // prev left the cluster (its lease is gone)
	back bool   // this gateway held it before its fence and takes it back
}

// New returns a gateway; Run joins the cluster.
func New(opts Options) *Gateway {
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Changed == nil {
		opts.Changed = func() {}
	}
	return &Gateway{opts: opts, log: opts.Logger.With("gateway", opts.Name), grace: opts.TTL - fenceMargin(opts.TTL) + time.Second,
		consoles: map[string]string{}, members: map[string]entry{}, assigned: map[string]bool{},
		notBefore: map[string]time.Time{}, from: map[string]handOver{}}
}

// Name is this gateway's name.
func (g *Gateway) Name() string { return g.opts.Name }

// TTL is the lease TTL.
func (g *Gateway) TTL() time.Duration { return g.opts.TTL }

// SetConsoles replaces the consoles to place (the configuration's, on
// start and on reload).
func (g *Gateway) SetConsoles(cs []Console) {
	g.mu.Lock()
	g.consoles = make(map[string]string, len(cs))
	for _, c := range cs {
		g.consoles[c.Name] = c.Pinned
	}
	g.recomputeLocked(g.live)
	g.mu.Unlock()
	g.opts.Changed()
}

// Run is this gateway's membership until ctx ends: it keeps a session
// (lease) with etcd, publishes itself under it, watches the members, and
// fences itself when keep-alives stop succeeding. At the end it revokes
// its lease, so the others take its movable consoles at once; stop the
// consoles before.
func (g *Gateway) Run(ctx context.Context) error {
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); g.watch(ctx) }()
	defer func() { <-watchDone }()
	for ctx.Err() == nil {
		if err := g.session(ctx); err != nil && ctx.Err() == nil {
			g.log.Warn("cluster session", "err", err)
			sleepCtx(ctx, time.Second)
		}
	}
	return nil
}

// session runs one etcd session (one lease) until it is lost or ctx ends.
func (g *Gateway) session(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ttl := int(g.opts.TTL / time.Second) // etcd's TTLs are whole seconds
	asked := time.Now()                  // the lease cannot expire before asked + ttl
	s, err := concurrency.NewSession(g.opts.Client, concurrency.WithTTL(ttl), concurrency.WithContext(sctx))
	if err != nil {
		return fmt.Errorf("starting an etcd session: %w", err)
	}
	m := Member{Name: g.opts.Name, Advertise: g.opts.Advertise, HostKey: g.opts.HostKey, Started: time.Now().UTC()}
	val, _ := json.Marshal(m)
	pctx, pcancel := context.WithTimeout(sctx, g.opts.TTL/2)
	_, err = g.opts.Client.Put(pctx, memberKey(g.opts.Prefix, g.opts.Name), string(val), clientv3.WithLease(s.Lease()))
	pcancel()
	if err != nil {
		s.Orphan()
		return fmt.Errorf("publishing gateway %s: %w", g.opts.Name, err)
	}
	renewals := make(chan renewal)
	go g.renew(sctx, s.Lease(), renewals)
	g.mu.Lock()
	g.lease, g.renewed, g.fenceAt = s.Lease(), asked, asked.Add(time.Duration(ttl)*time.Second-fenceMargin(g.opts.TTL))
	g.updateLiveLocked()
	fence := time.NewTimer(time.Until(g.fenceAt))
	g.mu.Unlock()
	defer fence.Stop()
	g.log.Info("joined the cluster", "lease", fmt.Sprintf("%x", int64(s.Lease())), "ttl", g.opts.TTL)
	g.opts.Changed()

	defer func() {
		g.mu.Lock()
		g.lease = 0
		changed := g.updateLiveLocked()
		g.mu.Unlock()
		if changed {
			g.opts.Changed()
		}
	}()
	for {
		var changed bool
		select {
		case <-ctx.Done():
			rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
			g.opts.Client.Revoke(rctx, s.Lease()) // leave at once: the others need not wait for the TTL
			rcancel()
			return nil
		case <-s.Done():
			return errors.New("lease lost (etcd expired it or the client closed)")
		case r := <-renewals:
			g.mu.Lock()
			if r.until.After(g.fenceAt) {
				g.renewed, g.fenceAt = r.sent, r.until
				fence.Reset(time.Until(r.until))
			}
			changed = g.updateLiveLocked()
			g.mu.Unlock()
		case <-fence.C:
			g.mu.Lock()
			if wait := time.Until(g.fenceAt); wait > 0 {
				fence.Reset(wait)
			}
			changed = g.updateLiveLocked()
			g.mu.Unlock()
		}
		if changed {
			g.opts.Changed()
		}
	}
}

// watch keeps the member view current.
func (g *Gateway) watch(ctx context.Context) {
	prefix := g.opts.Prefix + "gateways/"
	for ctx.Err() == nil {
		resp, err := g.opts.Client.Get(ctx, prefix, clientv3.WithPrefix())
		if err != nil {
			if ctx.Err() == nil {
				g.log.Warn("reading cluster members", "err", err)
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		view := map[string]entry{}
		for _, kv := range resp.Kvs {
			if m, err := decodeMember(g.opts.Prefix, kv.Key, kv.Value); err == nil {
				view[m.Name] = entry{Member: m, lease: clientv3.LeaseID(kv.Lease)}
			} else {
				g.log.Warn("ignoring a cluster member", "err", err)
			}
		}
		g.setView(view)
		wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		for wr := range g.opts.Client.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)) {
			if err := wr.Err(); err != nil {
				g.log.Warn("watching cluster members", "err", err)
				break
			}
			g.mu.Lock()
			next := make(map[string]entry, len(g.members))
			for k, v := range g.members {
				next[k] = v
			}
			g.mu.Unlock()
			for _, ev := range wr.Events {
				name := string(ev.Kv.Key[len(prefix):])
				if ev.Type == clientv3.EventTypeDelete {
					delete(next, name)
					continue
				}
				if m, err := decodeMember(g.opts.Prefix, ev.Kv.Key, ev.Kv.Value); err == nil {
					next[name] = entry{Member: m, lease: clientv3.LeaseID(ev.Kv.Lease)}
				}
			}
			g.setView(next)
		}
		wcancel()
		sleepCtx(ctx, 200*time.Millisecond)
	}
}

// setView puts a new member view in force.
func (g *Gateway) setView(view map[string]entry) {
	g.mu.Lock()
	old := names(g.members)
	g.members = view
	now := names(view)
	if fmt.Sprint(old) != fmt.Sprint(now) {
		g.log.Info("cluster members", "members", now, "before", old)
	}
	if e, ok := view[g.opts.Name]; ok && g.lease != 0 && e.lease != g.lease && e.Advertise != g.opts.Advertise {
		g.log.Error("another gateway runs under this gateway's name: it holds the key, this one holds nothing movable",
			"name", g.opts.Name, "its_advertise", e.Advertise, "this_advertise", g.opts.Advertise)
	}
	if !g.updateLiveLocked() {
		g.recomputeLocked(g.live)
	}
	g.mu.Unlock()
	g.opts.Changed()
}

// liveLocked: this gateway may hold movable consoles: its lease is fresh
// (fenceAt, fenceMargin before it can expire, is still ahead) and the view
// has its key under it.
func (g *Gateway) liveLocked() bool {
	e, ok := g.members[g.opts.Name]
	return g.lease != 0 && time.Now().Before(g.fenceAt) && ok && e.lease == g.lease
}

// updateLiveLocked re-evaluates liveness (fencing) and says whether it
// changed.
func (g *Gateway) updateLiveLocked() bool {
	was := g.live
	g.live = g.liveLocked()
	if was == g.live {
		return false
	}
	switch {
	case !g.live && g.lease != 0:
		g.fences++
		g.fenced = g.lease
		g.log.Warn("fenced: no etcd keep-alive answered in time, the lease could expire soon; letting go of the movable consoles",
			"last_renewal_sent", g.renewed.UTC().Format(time.RFC3339Nano), "ttl", g.opts.TTL, "margin", fenceMargin(g.opts.TTL))
	case !g.live:
		g.log.Info("left the cluster: letting go of the movable consoles")
	default:
		g.log.Info("live in the cluster: holding what is assigned")
	}
	g.recomputeLocked(was)
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
