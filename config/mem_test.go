package config

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// liveHeap is the heap still reachable after a collection. Two: what
// sync.Pools hold survives the first (and -race drops some at random).
func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// A parsed console holds little: one without rw or ro lists (open to
// every user) holds no access lists (four empty maps were 192 bytes of
// each of ten thousand), and the consoles sit in an array of their number,
// not of the last growth of the appends that read them. Measured as what a
// parsed configuration of demo consoles holds: about 220 bytes a console
// (235 under -race, which gives small objects their own allocations; 264
// and more with the array as appended, 453 with the empty lists too). The
// heap's bound leaves room for the runtime's changes; the array's size and
// the lists' absence are checked exactly.
func TestParsedConsoleHeap(t *testing.T) {
	const n = 2000
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "console \"vm%d\" {\n  demo {}\n}\n", i)
	}
	src := []byte(b.String())
	before := liveHeap()
	cfg, diags := Parse(src, "test.hcl", t.TempDir())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	per := (liveHeap() - before) / n
	a := cfg.Consoles[n-1].Access
	if !a.Open || a.RW["x"] || a.RO["x"] {
		t.Errorf("vm%d: access %+v, want open", n-1, a)
	}
	if a.RW != nil || a.RO != nil || a.RWGroups != nil || a.ROGroups != nil {
		t.Errorf("vm%d: open to every user, yet holds access lists %+v", n-1, a)
	}
	if cap(cfg.Consoles) > n+n/16 { // an allocation's rounding, not a growth's quarter
		t.Errorf("%d consoles in an array of %d", len(cfg.Consoles), cap(cfg.Consoles))
	}
	if per > 256 {
		t.Errorf("a parsed demo console holds %d bytes, want at most 256", per)
	}
	runtime.KeepAlive(cfg)
}
