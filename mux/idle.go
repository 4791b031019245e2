package mux

import (
	"slices"
	"sync"
	"time"

	"consoled/backend"
)

// An idle clock paces the consoles nobody is attached to (see
// Config.IdleRead); there is one per interval, shared by every console. At
// each tick it reads, from its own goroutine and one console after the
// other, every such console (its connection a backend.TryReader) that
// printed something since the last tick: a thousand busy consoles cost a
// few wake-ups per interval, not a goroutine wake-up (and its scheduling)
// per console.
//
// One clock for all, rather than staggered ones: each tick wakes the
// process from idle (and Go's system monitor with it), and the sweep of all
// consoles runs on one goroutine, so consoles that are watched are read on
// the other processors meanwhile. Measured at 1,000 consoles, ten staggered
// clocks cost 20-40 % more CPU with no better latency. A clock ticks only
// while it has consoles to read or parked.
//
// A quiet console stays with its clock, parked (backend.Parker), rather
// than going back to a reader goroutine: at each tick the clock harvests
// the parked consoles that have something to read. A byte arriving on one
// then costs a share of one harvest, a read, a log write and an arming,
// all on the clock's goroutine, where a hand-back cost a poller wake-up,
// two goroutine switches and two more reads (about 29 us an arrival at
// 5,000 consoles).
type idleClock struct {
	every time.Duration

	mu         sync.Mutex
	sweeps     []*sweep // consoles it reads at each tick
	pending    bool     // a tick is scheduled
	parked     int      // sweeps parked (backend.Parker): it ticks for them too
	harvesters []backend.Harvester
	buf        []byte // what its reads go into
	// due is when the scheduled tick is due: at its boundary, or one
	// interval after the tick before it started if that is earlier (a
	// sweep that overran: output waited longer); zero while it does not
	// tick.
	due   time.Time
	stats tickStats
}

var (
	clocksMu sync.Mutex
	clocks   = map[time.Duration]*idleClock{}
)

func clockFor(every time.Duration) *idleClock {
	clocksMu.Lock()
	defer clocksMu.Unlock()
	k := clocks[every]
	if k == nil {
		k = &idleClock{every: every}
		clocks[every] = k
	}
	return k
}

// schedule arranges the next tick; called with k.mu held.
func (k *idleClock) schedule() {
	if k.pending {
		return
	}
	k.pending = true
	now := time.Now()
	at := now.Truncate(k.every).Add(k.every)
	if k.due.IsZero() || k.due.After(at) {
		k.due = at // else a sweep overran: this tick is late
	}
	time.AfterFunc(at.Sub(now), k.fire)
}

func (k *idleClock) fire() {
	start := time.Now()
	k.mu.Lock()
	hs := k.harvesters
	due := k.due
	k.mu.Unlock()
	if due.IsZero() { // fired by hand (tests)
		due = start
	}
	for _, h := range hs { // parked consoles with something to read join the list
		h.Harvest()
	}
	k.mu.Lock()
	list := k.sweeps
	k.sweeps = nil
	k.mu.Unlock()
	// Ticks never overlap (pending stays set until the end), so buf is ours.
	var kept []*sweep
	if len(list) > 0 {
		if k.buf == nil {
			k.buf = make([]byte, 2<<10)
		}
		kept = list[:0]
		for _, s := range list {
			if s.step(k.buf) {
				kept = append(kept, s)
			}
		}
		clear(list[len(kept):])
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sweeps = append(kept, k.sweeps...) // and those handed over meanwhile
	k.pending = false
	k.stats.record(start.Sub(due), time.Since(start), k.every)
	k.due = time.Time{}
	if len(k.sweeps) > 0 || k.parked > 0 {
		k.due = start.Add(k.every)
		k.schedule()
	}
	if len(k.sweeps) == 0 {
		k.buf = nil // a quiet process holds no sweep buffer
	}
}

// A sweep is one console handed to its clock: the clock reads it at every
// tick while it prints, parks it when it is quiet (if its connection is a
// backend.Parker: it is read again at the first tick after something
// arrived), and ends the sweep when it is watched, fails, floods, is
// taken back, or is quiet and cannot be parked. No goroutine waits for it
// meanwhile, however long the console stays idle: the end of the sweep
// resumes the console on a new one (Console.resume).
type sweep struct {
	c      *Console
	k      *idleClock
	conn   backend.Conn
	tr     backend.TryReader
	pk     backend.Parker // nil if the connection cannot be parked
	wake   func()         // s.woken, made once
	mu     sync.Mutex     // held while the clock reads the console
	over   bool
	parked bool // armed with pk, waiting for a harvest
}

// maxSweepReads bounds the reads of one console per tick: a console that
// fills the buffer that often is busy enough to have a reader of its own.
const maxSweepReads = 8

// busyRead is a read after which a console is read again at the next
// tick rather than parked: it prints steadily, and parking it would cost
// an arming and a harvest per tick for nothing.
const busyRead = 256

// step reads s's console once per tick; it says whether s stays in the
// clock's list for the next tick. What it read goes to disk before it
// returns, whatever it decides: output waits at most one tick in the
// kernel and none in the log's buffer.
func (s *sweep) step(buf []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.over {
		return false
	}
	read := false
	defer func() {
		if read {
			s.c.cfg.Log.Flush()
		}
	}()
	for range maxSweepReads {
		n, err := s.tr.TryRead(buf)
		watched := false
		if n > 0 {
			read = true
			watched = s.c.output(buf[:n])
		}
		switch {
		case err == backend.ErrNothingYet && n == 0:
			// Quiet since the last tick: parked, or its reader waits for it.
			if !s.park() {
				s.end(nil)
			}
			return false
		case err != nil && err != backend.ErrNothingYet:
			s.end(err)
			return false
		case watched:
			s.end(nil)
			return false
		case n < len(buf):
			// A trickle is parked at once: the next arrival is harvested.
			return n >= busyRead || !s.park()
		}
	}
	s.end(nil) // a firehose: its own reader keeps up better
	return false
}

// park arms s's connection so that the clock's next harvest after
// something arrived puts s back in its list; called with s.mu held. It
// says whether s is parked.
func (s *sweep) park() bool {
	if s.pk == nil {
		return false
	}
	h, err := s.pk.Park(s.wake)
	if err != nil {
		return false // its reader finds out why
	}
	s.parked = true
	k := s.k
	k.mu.Lock()
	defer k.mu.Unlock()
	k.parked++
	if !slices.Contains(k.harvesters, h) {
		k.harvesters = append(k.harvesters, h)
	}
	return true
}

// woken is a parked sweep's wake: its console has something to read, or
// its connection ended. Called by a harvest, on the clock's goroutine.
func (s *sweep) woken() {
	s.mu.Lock()
	if !s.parked {
		s.mu.Unlock()
		return
	}
	s.parked = false
	over := s.over
	s.mu.Unlock()
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	s.k.parked--
	if !over {
		s.k.sweeps = append(s.k.sweeps, s)
	}
}

// end finishes s and gives the console back to a goroutine of its own,
// with err, why the clock's reads ended (nil: read it again); called with
// s.mu held.
func (s *sweep) end(err error) {
	s.over = true
	if s.parked {
		s.parked = false
		s.k.mu.Lock()
		s.k.parked--
		s.k.mu.Unlock()
	}
	go s.c.resume(s.conn, err)
}

// stop takes s back from its clock (a client attached, or the console is
// stopping); it waits if the clock is reading the console right now.
func (s *sweep) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.over {
		s.end(nil)
	}
}

// idle lets output gather in the backend while nobody waits for it (see
// Config.IdleRead): what was read goes to disk, and the console's idle
// clock reads it from now on, if the connection can be read without
// waiting (every backend's can; one that cannot is simply read at once).
// It says whether the clock took the console: the caller's goroutine then
// ends, and the sweep's end resumes the console. The clock only reads:
// closing the connection on error stays with Console.down.
func (c *Console) idle(conn backend.Conn) bool {
	c.cfg.Log.Flush() // what was read goes to disk now, as a batch would
	tr, ok := conn.(backend.TryReader)
	if !ok {
		return false
	}
	k := clockFor(c.cfg.IdleRead)
	s := &sweep{c: c, k: k, conn: conn, tr: tr}
	s.pk, _ = tr.(backend.Parker)
	s.wake = s.woken
	c.sweeping.Store(s)
	// A client that attached, or a stop that came, before the sweep was
	// visible did not stop it: the caller reads on. One that came just
	// after did stop it, and the sweep's end resumes the console on a
	// goroutine of its own: then the caller must not read on too.
	if c.watched() || c.stopping() {
		s.mu.Lock()
		stopped := s.over
		s.over = true // a stop that finds it now does nothing
		s.mu.Unlock()
		if !stopped {
			c.sweeping.CompareAndSwap(s, nil)
		}
		return stopped
	}
	k.mu.Lock()
	k.sweeps = append(k.sweeps, s)
	k.schedule()
	k.mu.Unlock()
	return true
}

func (c *Console) watched() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.clients) > 0
}
