package e2e

import (
	"regexp"
	"strconv"
	"testing"
	"time"
)

// metricValue finds a sample's value in a Prometheus text scrape.
func metricValue(body, name, console string) (float64, bool) {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name+`{console="`+console+`"}`) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// The per-console metrics follow what happens: reconnects, readers and
// writers, rotations, panics detected.
func TestMetricsFollowEvents(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	d := startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+`metrics_listen = "127.0.0.1:0"
console "flap" {
  exec { command = ["/bin/sh", "-c", "echo flap-up; sleep 0.2"] }
}
console "m1" {
  exec { command = ["/bin/sh", "-c", "PS1='m1$ ' exec /bin/sh -i"] }
  rw = ["alice"]
  ro = ["bob"]
}
console "big" {
  exec { command = ["/bin/sh", "-c", "i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo big-line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done; exec sleep 3600"] }
  log {
    max_size = "4KiB"
    keep     = 2
  }
}
console "p1" {
  exec { command = ["/bin/sh", "-c", "echo 'Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b'; exec sleep 3600"] }
}
`)
	d.waitStderr("metrics listening", 10*time.Second)
	addr := regexp.MustCompile(`msg="metrics listening" addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(d.stderr.String())[1]
	d.waitState(alice, "m1", "up")
	a := d.interactive(alice, "alice", "m1")
	a.Expect(`attached to m1 read-write`, 10*time.Second)
	b := d.interactive(bob, "bob", "m1")
	b.Expect(`attached to m1 read-only`, 10*time.Second)

	want := []struct {
		name, console string
		ok            func(float64) bool
		what          string
	}{
		{"consoled_console_reconnects_total", "flap", func(v float64) bool { return v >= 1 }, ">= 1"},
		{"consoled_console_reconnects_total", "m1", func(v float64) bool { return v == 0 }, "0"},
		{"consoled_console_writers", "m1", func(v float64) bool { return v == 1 }, "1"},
		{"consoled_console_readers", "m1", func(v float64) bool { return v == 1 }, "1"},
		{"consoled_log_rotations_total", "big", func(v float64) bool { return v >= 1 }, ">= 1"},
		{"consoled_log_rotations_total", "m1", func(v float64) bool { return v == 0 }, "0"},
		{"consoled_panics_detected_total", "p1", func(v float64) bool { return v == 1 }, "1"},
		{"consoled_panics_detected_total", "m1", func(v float64) bool { return v == 0 }, "0"},
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err := httpGet("http://" + addr + "/metrics")
		var bad []string
		for _, w := range want {
			v, found := metricValue(body, w.name, w.console)
			if err != nil || !found || !w.ok(v) {
				bad = append(bad, w.name+`{console="`+w.console+`"} = `+strconv.FormatFloat(v, 'g', -1, 64)+", want "+w.what)
			}
		}
		if len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never matched: %v (%v)\n%s", bad, err, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The idle clock that reads the consoles nobody is attached to (p1,
	// big) exports how long its sweeps take and how late its ticks are.
	deadline = time.Now().Add(30 * time.Second)
	for {
		body, _ := httpGet("http://" + addr + "/metrics")
		sweeps := regexp.MustCompile(`(?m)^consoled_idle_sweep_seconds_count ([1-9]\d*)$`).MatchString(body)
		delays := regexp.MustCompile(`(?m)^consoled_idle_tick_delay_seconds_bucket\{le="0\.1"\} \d+$`).MatchString(body)
		late := regexp.MustCompile(`(?m)^consoled_idle_ticks_late_total \d+$`).MatchString(body)
		if sweeps && delays && late {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle clock metrics: sweeps counted %v, delay histogram %v, late counter %v; want all\n%s", sweeps, delays, late, body)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// bob leaves, alice gives up write access: the gauges follow.
	b.Send("\x05c.")
	b.Wait(10 * time.Second)
	a.Send("\x05cs")
	a.Expect(`now read-only`, 5*time.Second)
	deadline = time.Now().Add(15 * time.Second)
	for {
		body, _ := httpGet("http://" + addr + "/metrics")
		w, _ := metricValue(body, "consoled_console_writers", "m1")
		r, _ := metricValue(body, "consoled_console_readers", "m1")
		if w == 0 && r == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after bob left and alice spied: writers %v readers %v, want 0 and 1", w, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
