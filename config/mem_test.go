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

// A parsed console holds little: one without rw or ro lists (open to
// every user) holds no access lists (four empty maps were 192 bytes of
// each of ten thousand), and the consoles sit in an array of their number,
// not of the last growth of the appends that read them. Measured as what a
// parsed configuration of demo consoles holds: 200 bytes a console (264
// with the array as appended, 453 with the empty lists too).
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
	if per > 232 {
		t.Errorf("a parsed demo console holds %d bytes, want at most 232", per)
	}
	runtime.KeepAlive(cfg)
}
