package cluster

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Fencing is sized by when renewals were sent, not when their answers came.
// etcd renews a lease on receiving a keep-alive, to a full TTL from then,
// so a lease renewed by a request sent at T cannot expire before T + TTL
// (and the others take its consoles only once etcd has expired it). A
// gateway therefore stays live until fenceMargin before that bound for the
// latest request etcd answered, whenever the answer came: a late answer
// still counts for the time it was asked. The session's own keep-alives
// (one every TTL/3, whose send times the client keeps to itself) only
// push the real expiry later.

// fenceMargin is how long before its lease could expire a gateway fences
// itself: time to stop its movable consoles, with room for its clock and
// etcd's to drift. A third of the TTL (3.3 s at the default 10 s).
func fenceMargin(ttl time.Duration) time.Duration { return ttl / 3 }

// renewEvery is how often a gateway renews its lease itself: six renewals
// in flight over a TTL, so that answers late by up to TTL - fenceMargin -
// renewEvery (5 s at 10 s) do not fence a healthy gateway.
func renewEvery(ttl time.Duration) time.Duration { return ttl / 6 }

// renewal is one keep-alive that etcd answered.
type renewal struct {
	sent  time.Time // when it was sent
	until time.Time // when the gateway must fence unless renewed again
}

// renew sends a keep-alive for lease every renewEvery, each without
// waiting for the ones before it, and reports each one answered until ctx
// ends. A failed renewal is only missing: the fence deadline stays where
// the last answered one put it, and the session ends when the lease is
// gone.
func (g *Gateway) renew(ctx context.Context, lease clientv3.LeaseID, out chan<- renewal) {
	tick := time.NewTicker(renewEvery(g.opts.TTL))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		go func() {
			sent := time.Now()
			rctx, cancel := context.WithTimeout(ctx, g.opts.TTL)
			resp, err := g.opts.Client.KeepAliveOnce(rctx, lease)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					g.log.Debug("renewing the etcd lease", "err", err)
				}
				return
			}
			ttl := min(time.Duration(resp.TTL)*time.Second, g.opts.TTL)
			select {
			case out <- renewal{sent: sent, until: sent.Add(ttl - fenceMargin(g.opts.TTL))}:
			case <-ctx.Done():
			}
		}()
	}
}
