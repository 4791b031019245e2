package testharness

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// LimitProcs sets GOMAXPROCS to 2 for the rest of the test, so that a
// count of threads is not swayed by how many cores the machine has.
func LimitProcs(t testing.TB) {
	prev := runtime.GOMAXPROCS(2)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

// Threads is how many OS threads this process has (from /proc).
func Threads(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("/proc/self/status: %q", l)
			}
			return n
		}
	}
	t.Fatal("no Threads: in /proc/self/status")
	return 0
}
