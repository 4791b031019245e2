package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the comparison in its quick mode (a smoke test: no timing
// assertions): every server starts, takes every console, logs what the
// sources sent, a viewer sees the probes and a writer's keystrokes come back;
// every record-lag probe consoled was sent is found in its log, and its
// idle clock's metrics are read.
func TestSmoke(t *testing.T) {
	for _, c := range []string{"conserver", "console", "conmand", "conman", "ssh-keygen", "socat"} {
		if _, err := exec.LookPath(c); err != nil {
			if os.Getenv("CONSOLED_E2E") == "1" {
				t.Fatalf("%s missing (test.sh installs it)", c)
			}
			t.Skipf("%s missing", c)
		}
	}
	raiseFileLimit()
	work := t.TempDir()
	bin := filepath.Join(work, "bin", "consoled")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/consoled").CombinedOutput(); err != nil {
		t.Fatalf("building consoled: %v\n%s", err, out)
	}
	const consoles = 50 // the quick mode: -consoles 50 -duration 5s
	var results []*result
	for _, s := range []server{consoledServer{bin: bin}, conserverServer{}, conmanServer{}} {
		dir := filepath.Join(work, s.name())
		os.MkdirAll(dir, 0o755)
		r := run(s, dir, consoles, 11520, time.Second, 5*time.Second, 2)
		results = append(results, r)
		if r.err != nil {
			t.Errorf("%s: %v", s.name(), r.err)
			continue
		}
		if r.allUpIn == 0 {
			t.Errorf("%s: not all %d consoles came up", s.name(), consoles)
		}
		if r.linesSent == 0 {
			t.Errorf("%s: the sources sent nothing", s.name())
		}
		if s.name() == "consoled" && r.bytesLost != 0 {
			t.Errorf("consoled lost %d bytes", r.bytesLost)
		}
		if r.probes == 0 {
			t.Errorf("%s: the viewer saw no probe", s.name())
		}
		if r.viewerSpread == "" {
			t.Errorf("%s: no summary of the viewers beside the stalled one", s.name())
		}
		if r.floor99 == 0 {
			t.Errorf("%s: the no-server viewer saw no probe", s.name())
		}
		if s.name() == "consoled" && (r.lag.samples == 0 || r.lag.samples != r.lag.sent) {
			t.Errorf("consoled: the record lag has %d samples of the %d probes sent; want every one in the logs", r.lag.samples, r.lag.sent)
		}
		if s.name() == "consoled" && !strings.Contains(r.idle, " ticks") {
			t.Errorf("consoled: no summary of its idle clock's metrics (%q)", r.idle)
		}
		if r.keys == 0 || r.keyFloor99 == 0 {
			t.Errorf("%s: %d keystrokes came back through the writer (no-server p99 %v)", s.name(), r.keys, r.keyFloor99)
		}
	}
	report(results, consoles, 11520, 5*time.Second)
}
