package config

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// liveHeap is the heap still reachable after a collection.
func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// A console without rw or ro lists (open to every user) holds no access
// lists: four empty maps a console were 192 bytes of each of ten thousand.
// Measured as what a parsed configuration of demo consoles holds.
func TestOpenConsoleHoldsNoLists(t *testing.T) {
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
	if per > 350 { // 264 without the lists, 453 with them
		t.Errorf("a parsed demo console holds %d bytes, want at most 350", per)
	}
	runtime.KeepAlive(cfg)
}
