package mux

import (
	"fmt"
	"time"
)

// maxTake bounds the output one Client.Next hands over (one SSH packet's
// worth): a client that takes output piece by piece shows that it makes
// progress, however long its whole backlog takes to send.
const maxTake = 32 << 10

// outbox is what waits for one client: items in order, the bytes they
// hold, and since when the client has taken none of it (its stall clock).
// The chunks of output in it are shared with the console's other clients.
type outbox struct {
	items []Item
	head  int // items[:head] have been taken
	bytes int
	since time.Time // output started waiting, or the client last took some
}

func itemSize(it Item) int { return len(it.Data) + len(it.Notice) }

// admit says why n more bytes must not wait for the client but cut it off
// instead, or nil: it has taken nothing for stallAfter while output waited
// (it stopped reading), or limit bytes would wait (a bound on memory).
func (o *outbox) admit(n int, now time.Time, stallAfter time.Duration, limit int) error {
	if o.bytes > 0 && now.Sub(o.since) >= stallAfter {
		return fmt.Errorf("%w for %v; disconnected so the console is not held up", ErrStalled, stallAfter)
	}
	if o.bytes+n > limit {
		return fmt.Errorf("%w (%s waited for it); disconnected so the console is not held up", ErrTooSlow, sizeText(limit))
	}
	return nil
}

// put queues it; the stall clock starts if nothing waited.
func (o *outbox) put(it Item, now time.Time) {
	if o.bytes == 0 {
		o.since = now
	}
	o.items = append(o.items, it)
	o.bytes += itemSize(it)
}

// take hands over the oldest items, at least one and about max bytes, and
// restarts the stall clock: the client is making progress. The returned
// slice is the caller's.
func (o *outbox) take(max int, now time.Time) []Item {
	rest := o.items[o.head:]
	if len(rest) == 0 {
		return nil
	}
	o.since = now
	k, n := 0, 0
	for k < len(rest) && (k == 0 || n+itemSize(rest[k]) <= max) {
		n += itemSize(rest[k])
		k++
	}
	o.bytes -= n
	if k == len(rest) && o.head == 0 { // all of it: hand the slice over
		o.items = nil
		return rest
	}
	out := append([]Item(nil), rest[:k]...)
	clear(rest[:k]) // the chunks are the caller's now
	o.head += k
	switch {
	case o.head == len(o.items):
		o.items, o.head = o.items[:0], 0
		if cap(o.items) > 1024 {
			o.items = nil // a backlog is over: do not keep its slice
		}
	case o.head >= 1024 && 2*o.head >= len(o.items):
		m := copy(o.items, o.items[o.head:])
		clear(o.items[m:])
		o.items, o.head = o.items[:m], 0
	}
	return out
}

// reset drops everything (the client is gone).
func (o *outbox) reset() { *o = outbox{} }

// sizeText is n bytes for people: "64 MiB", "512 KiB", "100 bytes".
func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
