package logstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openIn counts this process's descriptors open on the log files in dir
// (not the directory's index journal: journalsOpenIn).
func openIn(t *testing.T, dir string) int {
	return countOpen(t, dir, func(name string) bool { return name != JournalName })
}

// journalsOpenIn counts the descriptors open on dir's index journal.
func journalsOpenIn(t *testing.T, dir string) int {
	return countOpen(t, dir, func(name string) bool { return name == JournalName })
}

// openLogs opens n logs c00, c01, ... in dir, each closed when the test
// ends.
func openLogs(t *testing.T, dir string, n int) []*Log {
	t.Helper()
	var logs []*Log
	for i := range n {
		l, err := Open(dir, fmt.Sprintf("c%02d", i), Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		logs = append(logs, l)
	}
	return logs
}

func countOpen(t *testing.T, dir string, match func(name string) bool) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("listing descriptors: %v", err)
	}
	n := 0
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && strings.HasPrefix(target, dir+"/") && match(strings.TrimPrefix(target, dir+"/")) {
			n++
		}
	}
	return n
}

// A console's log holds one descriptor while it is written, not two: the
// time index is written through the directory's journal (one descriptor
// for every log) and a handle of its own, closed at once.
func TestLogHoldsOneDescriptor(t *testing.T) {
	dir := t.TempDir()
	const n = 40
	var logs []*Log
	for i := range n {
		l, err := Open(dir, fmt.Sprintf("c%02d", i), Options{})
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
		l.Write([]byte("booting\n"))
		l.Flush()
	}
	if got := openIn(t, dir); got > n {
		t.Errorf("%d descriptors open in the log directory for %d consoles, want at most %d", got, n, n)
	}
	if got := journalsOpenIn(t, dir); got != 1 {
		t.Errorf("%d descriptors open on the index journal, want 1 for the directory", got)
	}
	for i, l := range logs {
		l.Close()
		st, err := os.Stat(filepath.Join(dir, fmt.Sprintf("c%02d.log.idx", i)))
		if err != nil || st.Size() != entrySize {
			t.Errorf("index of c%02d: %v, %d bytes, want one entry", i, err, st.Size())
		}
	}
	if got := openIn(t, dir) + journalsOpenIn(t, dir); got != 0 {
		t.Errorf("%d descriptors left open after Close", got)
	}
}

// A log not written for a while is closed, and opened again on output,
// going on where it stopped: mid-line, a mark is still flagged.
func TestIdleLogClosedAndReopened(t *testing.T) {
	idleClose.Store(int64(200 * time.Millisecond))
	defer idleClose.Store(int64(DefaultIdleClose))
	dir := t.TempDir()
	l, err := Open(dir, "m", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Write([]byte("login: "))
	l.Flush()
	if openIn(t, dir) != 1 {
		t.Fatal("the log is not open while written")
	}
	for deadline := time.Now().Add(10 * time.Second); openIn(t, dir) != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the log is still open 10 s after its last write (idle close 200 ms)")
		}
	}
	l.MarkEnd("console down", time.Unix(0, 0))
	l.Write([]byte("root\n"))
	l.Flush()
	want := "login: \n[-- consoled: console down 1970-01-01T00:00:00Z (mid-line) --]\nroot\n"
	if got := read(t, l.Path()); got != want {
		t.Errorf("log after reopening:\n%q\nwant\n%q", got, want)
	}
}

// Under SetMaxOpen, opening one more log closes another: the bound holds
// and every byte is still written, in order.
func TestMaxOpenBound(t *testing.T) {
	SetMaxOpen(5)
	defer SetMaxOpen(0)
	dir := t.TempDir()
	logs := openLogs(t, dir, 30)
	for round := range 3 {
		for i, l := range logs {
			fmt.Fprintf(l, "round %d console %d\n", round, i)
			l.Flush()
			if got := openIn(t, dir); got > 5 {
				t.Fatalf("%d log files open, bound 5", got)
			}
		}
	}
	for i, l := range logs {
		want := fmt.Sprintf("round 0 console %d\nround 1 console %d\nround 2 console %d\n", i, i, i)
		if got := read(t, l.Path()); got != want {
			t.Errorf("c%02d: %q, want %q", i, got, want)
		}
	}
}
