package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"consoled/mux"
)

// idleCollector exports the mux's idle clocks: how long their sweeps take
// and how late their ticks start, i.e. how long the output of consoles
// nobody is attached to waits before it is on disk (see
// mux.IdleClockStats).
type idleCollector struct {
	sweeps, delays, late *prometheus.Desc
}

func newIdleCollector() *idleCollector {
	return &idleCollector{
		sweeps: prometheus.NewDesc("consoled_idle_sweep_seconds",
			"How long each tick of the idle clock took: reading the consoles nobody is attached to and writing their output to disk.", nil, nil),
		delays: prometheus.NewDesc("consoled_idle_tick_delay_seconds",
			"How long after it was due each tick of the idle clock started (due one interval after the tick before it).", nil, nil),
		late: prometheus.NewDesc("consoled_idle_ticks_late_total",
			"Ticks of the idle clock that started more than one interval after they were due: the clock fell behind, and output waited that much longer to reach the logs.", nil, nil),
	}
}

func (c *idleCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.sweeps
	ch <- c.delays
	ch <- c.late
}

func (c *idleCollector) Collect(ch chan<- prometheus.Metric) {
	st := mux.IdleClockStats()
	ch <- histogram(c.sweeps, st.Sweeps)
	ch <- histogram(c.delays, st.Delays)
	ch <- prometheus.MustNewConstMetric(c.late, prometheus.CounterValue, float64(st.Late))
}

func histogram(d *prometheus.Desc, h mux.ClockHistogram) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Buckets))
	for i, n := range h.Buckets {
		buckets[mux.ClockBuckets[i].Seconds()] = n
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum.Seconds(), buckets)
}
