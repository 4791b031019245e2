package main

import (
	"context"
	"runtime"
	"time"

	"consoled/mux"
)

// settleWait bounds how long settle waits for start-up to end.
const settleWait = 30 * time.Second

// settleQuiet is how long the goroutines' number must have stopped
// falling for start-up to be over.
const settleQuiet = time.Second

// settle calls release once start-up (or a reload) is over: when no
// console of consoles() is still making its first connection, and the
// consoles' goroutines have ended their first work (a quiet console hands
// itself to its idle clock and its goroutine ends: the number of
// goroutines has not fallen for settleQuiet), or after maxWait. A console
// server allocates little once running, so the runtime may not collect for
// two minutes: until then the garbage of thousands of first connections,
// and the stacks of the goroutines that ended (a collection frees them),
// would stay.
func settle(ctx context.Context, consoles func() []*mux.Console, maxWait time.Duration, release func()) {
	deadline := time.NewTimer(maxWait)
	defer deadline.Stop()
	const every = 100 * time.Millisecond
	tick := time.NewTicker(every)
	defer tick.Stop()
	counts := make([]int, settleQuiet/every+1) // the goroutines' number over the last settleQuiet
	for i := 0; ; i++ {
		n := runtime.NumGoroutine()
		falling := i < len(counts) || n < counts[i%len(counts)]
		counts[i%len(counts)] = n
		if !falling && !connecting(consoles()) {
			break
		}
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
