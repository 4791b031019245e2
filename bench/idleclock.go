package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// consoled's idle clock (the goroutine that reads the consoles nobody is
// attached to, every 90 ms), from its metrics: what the record lag of
// consoled depends on.

// metricsServer is a server whose Prometheus metrics the bench reads.
type metricsServer interface {
	// metricsAddr is where it serves them ("" for nowhere).
	metricsAddr(dir string) string
}

// idleSnap is the idle clock's metrics at one moment.
type idleSnap struct {
	sweeps, delays     float64 // ticks, counted by each histogram
	sweepSum, delaySum float64 // seconds
	late               float64
	sweepBuckets       map[float64]float64 // le -> cumulative count
	ok                 bool
}

// scrapeIdle reads the idle clock's metrics at addr.
func scrapeIdle(addr string) idleSnap {
	s := idleSnap{sweepBuckets: map[float64]float64{}}
	if addr == "" {
		return s
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(name, "consoled_idle_") {
			continue
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			continue
		}
		switch name {
		case "consoled_idle_sweep_seconds_count":
			s.sweeps, s.ok = v, true
		case "consoled_idle_sweep_seconds_sum":
			s.sweepSum = v
		case "consoled_idle_tick_delay_seconds_count":
			s.delays = v
		case "consoled_idle_tick_delay_seconds_sum":
			s.delaySum = v
		case "consoled_idle_ticks_late_total":
			s.late = v
		default:
			if le, found := strings.CutPrefix(name, `consoled_idle_sweep_seconds_bucket{le="`); found {
				if b, err := strconv.ParseFloat(strings.TrimSuffix(le, `"}`), 64); err == nil {
					s.sweepBuckets[b] = v
				}
			}
		}
	}
	return s
}

// idleSummary says what the idle clock did since the server started
// (start-up included: the bench reads its metrics once, at the end of the
// measurement, after the RSS, as a scrape allocates).
func idleSummary(s idleSnap) string {
	if !s.ok {
		return ""
	}
	if s.sweeps <= 0 {
		return "idle clock: no tick"
	}
	ms := func(s float64) string {
		return time.Duration(s * float64(time.Second)).Round(10 * time.Microsecond).String()
	}
	p99 := "over 10s"
	les := make([]float64, 0, len(s.sweepBuckets))
	for le := range s.sweepBuckets {
		les = append(les, le)
	}
	sort.Float64s(les)
	for _, le := range les {
		if s.sweepBuckets[le] >= 0.99*s.sweeps {
			p99 = "at most " + ms(le)
			break
		}
	}
	return fmt.Sprintf("idle clock since it started (start-up included): %.0f ticks, a sweep %s on average (p99 %s), started %s after it was due on average, %.0f late (over one interval)",
		s.sweeps, ms(s.sweepSum/s.sweeps), p99, ms(s.delaySum/s.delays), s.late)
}

func (consoledServer) metricsAddr(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "metrics.addr"))
	return strings.TrimSpace(string(b))
}
