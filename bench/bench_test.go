package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestSmoke runs the comparison small (a smoke test: no timing
// assertions): every server starts, takes every console, logs what the
// sources sent, and a viewer sees the probes.
func TestSmoke(t *testing.T) {
	for _, c := range []string{"conserver", "console", "conmand", "conman", "ssh-keygen"} {
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
	var results []*result
	for _, s := range []server{consoledServer{bin: bin}, conserverServer{}, conmanServer{}} {
		dir := filepath.Join(work, s.name())
		os.MkdirAll(dir, 0o755)
		r := run(s, dir, 10, 11520, time.Second, 2*time.Second, 2)
		results = append(results, r)
		if r.err != nil {
			t.Errorf("%s: %v", s.name(), r.err)
			continue
		}
		if r.allUpIn == 0 {
			t.Errorf("%s: not all 10 consoles came up", s.name())
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
	}
	report(results, 10, 11520, 2*time.Second)
}
