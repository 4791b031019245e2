package metrics

import "github.com/prometheus/client_golang/prometheus"

// Cluster is what the metrics read of this gateway's cluster.
type Cluster interface {
	Members() int    // live gateways in this gateway's view, itself included
	Live() bool      // etcd reachable, with a fresh lease: may hold movable consoles
	Forwarding() int // sessions forwarded through this gateway to others now
	Fences() int     // times this gateway fenced itself (lost etcd)
}

// Option adds to what Handler serves.
type Option func(*options)

type options struct{ cluster Cluster }

// WithCluster adds the cluster gauges to /metrics, and makes /healthz
// answer 503 while etcd cannot be reached.
func WithCluster(c Cluster) Option { return func(o *options) { o.cluster = c } }

type clusterCollector struct {
	c                                      Cluster
	src                                    Source
	alive, held, forwarded, etcdUp, fences *prometheus.Desc
}

func newClusterCollector(c Cluster, src Source) *clusterCollector {
	return &clusterCollector{c: c, src: src,
		alive:     prometheus.NewDesc("consoled_cluster_gateways_alive", "Live gateways of the cluster, as this one sees them.", nil, nil),
		held:      prometheus.NewDesc("consoled_cluster_consoles_held", "Consoles this gateway holds (runs) now.", nil, nil),
		forwarded: prometheus.NewDesc("consoled_cluster_forwarded_sessions", "Sessions forwarded through this gateway to the gateway holding their console.", nil, nil),
		etcdUp:    prometheus.NewDesc("consoled_cluster_etcd_reachable", "1 while etcd keeps this gateway's lease alive.", nil, nil),
		fences:    prometheus.NewDesc("consoled_cluster_fences_total", "Times this gateway lost etcd and let go of its movable consoles.", nil, nil),
	}
}

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.alive, c.held, c.forwarded, c.etcdUp, c.fences} {
		ch <- d
	}
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	up := 0.0
	if c.c.Live() {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.alive, prometheus.GaugeValue, float64(c.c.Members()))
	ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, float64(len(c.src.Consoles())))
	ch <- prometheus.MustNewConstMetric(c.forwarded, prometheus.GaugeValue, float64(c.c.Forwarding()))
	ch <- prometheus.MustNewConstMetric(c.etcdUp, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(c.fences, prometheus.CounterValue, float64(c.c.Fences()))
}
