package logstore

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTrickleFlush is the disk side of a trickle: 1,000 consoles of
// one directory each print a byte in a new second (the worst case for the
// time index: every arrival starts a second) and the flusher writes them.
// One op is one arrival; cpu-µs/arrival is the process's CPU time (user +
// system, the flusher's included) per arrival.
func BenchmarkTrickleFlush(b *testing.B) {
	const n = 1000
	dir := b.TempDir()
	var sec atomic.Int64
	sec.Store(1_800_000_000)
	now := func() time.Time { return time.Unix(sec.Load(), 0) }
	logs := make([]*Log, n)
	for i := range logs {
		l, err := Open(dir, fmt.Sprintf("c%04d", i), Options{})
		if err != nil {
			b.Fatal(err)
		}
		l.now = now
		defer l.Close()
		logs[i] = l
		l.Write([]byte("boot\n"))
	}
	time.Sleep(3 * flushEvery)
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.ResetTimer()
	start := cpu()
	arrivals := 0
	for arrivals < b.N {
		sec.Add(1)
		for _, l := range logs {
			l.Write([]byte{'.'})
		}
		arrivals += n
		time.Sleep(2 * flushEvery) // flushed
	}
	b.StopTimer()
	b.ReportMetric(float64((cpu()-start).Microseconds())/float64(arrivals), "cpu-µs/arrival")
}
