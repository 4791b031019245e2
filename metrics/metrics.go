// Package metrics exposes consoled's state to Prometheus. It reads the
// consoles' counters at scrape time (nothing is counted per byte here), so
// it costs nothing between scrapes.
package metrics

import (
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"consoled/mux"
)

// Source is what metrics reads.
type Source interface {
	Consoles() []*mux.Console
}

type collector struct {
	src    Source
	auth   func() (ok, failed uint64)
	panics func(console string) uint64

	bytesIn, bytesOut, state, reconnects, readers, writers, logBytes, rotations, logErrors, panicCount *prometheus.Desc
	authOK, authFailed                                                                                 *prometheus.Desc
}

func newCollector(src Source, auth func() (uint64, uint64), panics func(string) uint64) *collector {
	c := []string{"console"}
	return &collector{src: src, auth: auth, panics: panics,
		bytesIn:    prometheus.NewDesc("consoled_console_bytes_in_total", "Bytes the machine printed.", c, nil),
		bytesOut:   prometheus.NewDesc("consoled_console_bytes_out_total", "Bytes typed to the machine.", c, nil),
		state:      prometheus.NewDesc("consoled_console_state", "1 for the console's current state (up, down, connecting).", []string{"console", "state"}, nil),
		reconnects: prometheus.NewDesc("consoled_console_reconnects_total", "Connections made after the first.", c, nil),
		readers:    prometheus.NewDesc("consoled_console_readers", "Attached read-only clients.", c, nil),
		writers:    prometheus.NewDesc("consoled_console_writers", "Attached clients with write access (0 or 1).", c, nil),
		logBytes:   prometheus.NewDesc("consoled_log_bytes_written_total", "Bytes written to the console's log, marks included.", c, nil),
		rotations:  prometheus.NewDesc("consoled_log_rotations_total", "Log rotations.", c, nil),
		logErrors:  prometheus.NewDesc("consoled_log_write_errors_total", "Writes to the console's log that failed (disk full, I/O error): what each held is missing from the log.", c, nil),
		panicCount: prometheus.NewDesc("consoled_panics_detected_total", "Crashes detected on the console.", c, nil),
		authOK:     prometheus.NewDesc("consoled_ssh_auth_success_total", "SSH logins (a key verified).", nil, nil),
		authFailed: prometheus.NewDesc("consoled_ssh_auth_failures_total", "SSH connections that ended without logging in (one per connection, however many keys it offered).", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.bytesIn, c.bytesOut, c.state, c.reconnects, c.readers, c.writers, c.logBytes, c.rotations, c.logErrors, c.panicCount, c.authOK, c.authFailed} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, con := range c.src.Consoles() {
		st := con.Status()
		n := st.Name
		ch <- prometheus.MustNewConstMetric(c.bytesIn, prometheus.CounterValue, float64(st.BytesIn), n)
		ch <- prometheus.MustNewConstMetric(c.bytesOut, prometheus.CounterValue, float64(st.BytesOut), n)
		for _, s := range []mux.State{mux.StateUp, mux.StateDown, mux.StateConnecting} {
			v := 0.0
			if st.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, v, n, string(s))
		}
		reconnects := 0.0
		if st.Ups > 1 {
			reconnects = float64(st.Ups - 1)
		}
		ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, reconnects, n)
		writers := 0.0
		if st.Writer != "" {
			writers = 1
		}
		ch <- prometheus.MustNewConstMetric(c.readers, prometheus.GaugeValue, float64(st.Viewers), n)
		ch <- prometheus.MustNewConstMetric(c.writers, prometheus.GaugeValue, writers, n)
		ch <- prometheus.MustNewConstMetric(c.logBytes, prometheus.CounterValue, float64(st.Log.Written), n)
		ch <- prometheus.MustNewConstMetric(c.rotations, prometheus.CounterValue, float64(st.Log.Rotations), n)
		ch <- prometheus.MustNewConstMetric(c.logErrors, prometheus.CounterValue, float64(st.Log.WriteErrors), n)
		if c.panics != nil {
			ch <- prometheus.MustNewConstMetric(c.panicCount, prometheus.CounterValue, float64(c.panics(n)), n)
		}
	}
	ok, failed := c.auth()
	ch <- prometheus.MustNewConstMetric(c.authOK, prometheus.CounterValue, float64(ok))
	ch <- prometheus.MustNewConstMetric(c.authFailed, prometheus.CounterValue, float64(failed))
}

// Handler serves /metrics (consoled's, plus Go runtime and process
// metrics) and /healthz, which answers 200 while healthy() is true (and,
// in a cluster, etcd is reachable: see WithCluster).
func Handler(src Source, auth func() (ok, failed uint64), panics func(string) uint64, healthy func() bool, opts ...Option) http.Handler {
	var o options
	for _, f := range opts {
		f(&o)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(src, auth, panics), newIdleCollector(),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if o.cluster != nil {
		reg.MustRegister(newClusterCollector(o.cluster, src))
	}
	m := http.NewServeMux()
	m.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// Profiles, for finding what costs CPU or memory in production.
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if !healthy() {
			http.Error(w, "ssh listener down\n", http.StatusServiceUnavailable)
			return
		}
		if o.cluster != nil && !o.cluster.Live() {
			http.Error(w, "etcd unreachable: this gateway holds no movable console\n", http.StatusServiceUnavailable)
			return
		}
		if o.cluster != nil {
			w.Write([]byte("ok\netcd: reachable\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
	return m
}
