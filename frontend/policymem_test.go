package frontend_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"consoled/config"
	"consoled/frontend"
	"consoled/frontend/frontendtest"
)

// liveHeap is the heap still reachable after a collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A policy holds next to nothing per console: the access lists stay where
// the configuration holds them (one map from each name to them, shared by
// the key and the certificate answers, not a copy each), and tags, idle
// timeouts and screen sizes are kept only for consoles that set them. It
// still answers for every console.
func TestPolicyFromHoldsLittlePerConsole(t *testing.T) {
	const n = 2000
	alice, bob := frontendtest.NewPerson(t, "alice"), frontendtest.NewPerson(t, "bob")
	var b strings.Builder
	b.WriteString(alice.Block() + bob.Block())
	for i := range n {
		lists := ""
		if i%2 == 1 {
			lists = "  rw = [\"alice\"]\n  ro = [\"bob\"]\n"
		}
		b.WriteString(console(fmt.Sprintf("vm%d", i), lists))
	}
	cfg, diags := config.Parse([]byte("log_dir = \"logs\"\n"+b.String()), "test.hcl", t.TempDir())
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	before := liveHeap()
	p := frontend.PolicyFrom(cfg)
	grew := int64(liveHeap()) - int64(before)
	if per := grew / n; per > 100 {
		t.Errorf("the policy of %d consoles holds %d bytes, %d a console; want at most 100 a console", n, grew, per)
	}
	for _, tc := range []struct {
		user, console string
		want          frontend.Access
	}{
		{"bob", "vm0", frontend.ReadWrite}, {"alice", "vm1", frontend.ReadWrite}, {"bob", "vm1", frontend.ReadOnly},
		{"bob", "vm1999", frontend.ReadOnly}, {"alice", "vm2000", frontend.NoAccess},
	} {
		if got := p.Access(tc.user, tc.console); got != tc.want {
			t.Errorf("%s on %s: %v, want %v", tc.user, tc.console, got, tc.want)
		}
		if got := p.CertAccess(tc.user, nil, tc.console); got != tc.want {
			t.Errorf("certificate %s on %s: %v, want %v", tc.user, tc.console, got, tc.want)
		}
	}
	if s, ok := p.Screens["vm7"]; ok || len(p.Tags["vm7"]) != 0 {
		t.Errorf("vm7 sets no screen nor tags, policy holds %v and %v", s, p.Tags["vm7"])
	}
}
