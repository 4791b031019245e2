package mux

import (
	"sync"
	"time"
)

// How late the idle clocks' ticks start and how long their sweeps take
// decides how long output of a console nobody is attached to waits before
// it is on disk: at most about one interval (Config.IdleRead), plus the
// tick's delay, plus the sweep up to that console. A clock whose sweeps take
// longer than its interval falls behind, and output waits that much longer
// (what a crash then loses). These statistics let an operator see and alert
// on it (metrics exports them).

// ClockBuckets are the upper bounds of the histograms in ClockStats.
var ClockBuckets = clockBounds[:]

var clockBounds = [...]time.Duration{
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// ClockHistogram counts durations, Prometheus-style.
type ClockHistogram struct {
	Count uint64
	Sum   time.Duration
	// Buckets[i] is how many took at most ClockBuckets[i] (cumulative).
	Buckets []uint64
}

// ClockStats is what the idle clocks did since the process started.
type ClockStats struct {
	// Sweeps is how long each tick took: the harvest of the parked
	// consoles, the reads and the log writes.
	Sweeps ClockHistogram
	// Delays is how long after it was due each tick started. A tick is due
	// at its boundary, or one interval after the tick before it started if
	// that is earlier: a sweep that overran makes the next tick late by as
	// much (a timer that fired late makes its own tick late).
	Delays ClockHistogram
	// Late counts the ticks that started more than one interval after they
	// were due: output may have waited more than two intervals for them.
	Late uint64
}

// IdleClockStats sums the statistics of every idle clock.
func IdleClockStats() ClockStats {
	clocksMu.Lock()
	ks := make([]*idleClock, 0, len(clocks))
	for _, k := range clocks {
		ks = append(ks, k)
	}
	clocksMu.Unlock()
	st := ClockStats{
		Sweeps: ClockHistogram{Buckets: make([]uint64, len(ClockBuckets))},
		Delays: ClockHistogram{Buckets: make([]uint64, len(ClockBuckets))},
	}
	for _, k := range ks {
		k.stats.addTo(&st)
	}
	return st
}

// tickStats is one clock's statistics.
type tickStats struct {
	mu             sync.Mutex // the clock writes, a scrape reads
	sweeps, delays histogram
	late           uint64
}

// record counts a tick that started delay after it was due and took took.
func (s *tickStats) record(delay, took, every time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays.add(max(delay, 0))
	s.sweeps.add(took)
	if delay > every {
		s.late++
	}
}

func (s *tickStats) addTo(st *ClockStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweeps.addTo(&st.Sweeps)
	s.delays.addTo(&st.Delays)
	st.Late += s.late
}

// histogram counts durations in ClockBuckets (the last count: longer than
// every bucket).
type histogram struct {
	counts [len(clockBounds) + 1]uint64
	sum    time.Duration
}

func (h *histogram) add(d time.Duration) {
	i := 0
	for i < len(ClockBuckets) && d > ClockBuckets[i] {
		i++
	}
	h.counts[i]++
	h.sum += d
}

func (h *histogram) addTo(o *ClockHistogram) {
	var n uint64
	for i, c := range h.counts {
		n += c
		if i < len(ClockBuckets) {
			o.Buckets[i] += n
		}
	}
	o.Count += n
	o.Sum += h.sum
}
