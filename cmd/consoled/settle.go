package main

import (
	"context"
	"time"

	"consoled/mux"
)

// settleWait bounds how long settle waits for the consoles' first
// connections.
const settleWait = 30 * time.Second

// settle calls release once start-up (or a reload) is over: when no
// console of consoles() is still making its first connection, or after
// maxWait. A console server allocates little once running, so the runtime
// may not collect for minutes: the garbage of thousands of first
// connections, and goroutine stacks grown on the way (a collection shrinks
// those using a quarter or less), would stay until then.
func settle(ctx context.Context, consoles func() []*mux.Console, maxWait time.Duration, release func()) {
	deadline := time.NewTimer(maxWait)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for connecting(consoles()) {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			release()
			return
		case <-tick.C:
		}
	}
	release()
}

// connecting says whether a console is connecting.
func connecting(cs []*mux.Console) bool {
	for _, c := range cs {
		if c.Status().State == mux.StateConnecting {
			return true
		}
	}
	return false
}
