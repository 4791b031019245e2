package logstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitFile polls path until it satisfies ok, and returns its contents.
func waitFile(t *testing.T, path string, timeout time.Duration, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(path)
		if ok(string(b)) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after %v: %q", path, timeout, b)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A mark made at a prompt (a line that does not end) is on disk about
// holdFor later, flagged, without Flush or Close; what the machine printed
// is still exactly recoverable.
func TestHeldMarkWrittenAfterHold(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.log")
	l, _ := Open(dir, "m", Options{})
	defer l.Close()
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	l.Write([]byte("bash-5.2# "))
	start := time.Now()
	l.Mark("bob attached rw from 10.0.0.7", at)
	got := waitFile(t, path, 2*time.Second, func(s string) bool { return strings.Contains(s, "bob attached") })
	if waited := time.Since(start); waited < holdFor {
		t.Errorf("the mark was written after %v, before the line had %v to end", waited, holdFor)
	}
	want := "bash-5.2# \n[-- consoled: bob attached rw from 10.0.0.7 2026-11-23T10:00:00Z (mid-line) --]\n"
	if got != want {
		t.Fatalf("log:\n%q\nwant\n%q", got, want)
	}
	l.Write([]byte("ls\r\nfile\r\nbash-5.2# "))
	l.Flush()
	if got := string(MachineBytes([]byte(read(t, path)))); got != "bash-5.2# ls\r\nfile\r\nbash-5.2# " {
		t.Errorf("machine bytes %q", got)
	}
}

// A line that ends within holdFor takes the mark right after its "\n",
// unflagged, and the mark is on disk at once.
func TestHeldMarkAtLineEnd(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, "m", Options{})
	defer l.Close()
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	l.Write([]byte("[    1.0] booting"))
	l.Mark("alice sent BREAK", at)
	l.Write([]byte(" the kernel\r\n[    1.1] next"))
	want := "[    1.0] booting the kernel\r\n[-- consoled: alice sent BREAK 2026-11-23T10:00:00Z --]\n[    1.1] next"
	if got := read(t, filepath.Join(dir, "m.log")); got != want {
		t.Errorf("log right after the line ended:\n%q\nwant\n%q", got, want)
	}
}

// Restarts are visible: each start of consoled on a log left at a prompt
// (the earlier run killed, its held marks gone with it) starts its "console
// up" on a line of its own, and the prompts are not glued together.
func TestRestartsAtPromptAreMarked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.log")
	for run := 0; run < 3; run++ {
		l, _ := Open(dir, "m", Options{})
		l.Mark("console up", time.Unix(int64(run), 0))
		l.Write([]byte("bash-5.2# "))
		l.Flush() // then killed: no Close
	}
	want := "[-- consoled: console up 1970-01-01T00:00:00Z --]\nbash-5.2# \n" +
		"[-- consoled: console up 1970-01-01T00:00:01Z (mid-line) --]\nbash-5.2# \n" +
		"[-- consoled: console up 1970-01-01T00:00:02Z (mid-line) --]\nbash-5.2# "
	if got := read(t, path); got != want {
		t.Errorf("log:\n%s\nwant\n%s", got, want)
	}
}

// ParseMark reads what MarkLine writes, and no event text can fake the
// flag or the time.
func TestParseMark(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		event   string
		midLine bool
	}{
		{"console up", false},
		{"console down: EOF", true},
		{"note by alice: x 2025-01-01T00:00:00Z (mid-line)", false},
		{"note by alice: x --]", true},
	} {
		line := MarkLine(tc.event, at, tc.midLine)
		if tc.midLine {
			line = line[1:] // the "\n" that ends the machine's line
		}
		m, ok := ParseMark(line)
		if !ok || m.Event != tc.event || !m.Time.Equal(at) || m.MidLine != tc.midLine {
			t.Errorf("ParseMark(%q) = %+v, %v", line, m, ok)
		}
	}
	for _, s := range []string{"[-- consoled: up --]", "[-- consoled: up 2026-11-23T10:00:00Z --]\r", "x [-- consoled: up 2026-11-23T10:00:00Z --]", ""} {
		if m, ok := ParseMark([]byte(s)); ok {
			t.Errorf("ParseMark(%q) = %+v: not a mark", s, m)
		}
	}
	log := "a\n[-- consoled: up 2026-11-23T10:00:00Z --]\nb\n[-- consoled: x 2026-11-23T10:00:00Z (mid-line) --]\n[-- consoled: y 2026-11-23T10:00:00Z --]\nc\r\n"
	if got := string(MachineBytes([]byte(log))); got != "a\nbc\r\n" {
		t.Errorf("MachineBytes = %q", got)
	}
}
