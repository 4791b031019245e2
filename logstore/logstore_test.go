package logstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Rotation keeps every byte, in order, across NAME.log.K.gz .. NAME.log,
// never more than Keep rotated files, and a query reads across them.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, "vm1", Options{MaxSize: 1000, Keep: 3})
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for i := 0; i < 200; i++ {
		line := fmt.Sprintf("line %03d of the console\r\n", i)
		all.WriteString(line)
		l.Write([]byte(line))
	}
	l.Close() // waits for compression
	for _, f := range []string{"vm1.log.1.gz", "vm1.log.2.gz", "vm1.log.3.gz", "vm1.log.3.idx"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range []string{"vm1.log.4.gz", "vm1.log.1"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s exists", f)
		}
	}
	st, _ := os.Stat(filepath.Join(dir, "vm1.log"))
	if st.Size() > 1000 {
		t.Errorf("vm1.log is %d bytes, over max_size", st.Size())
	}
	var out bytes.Buffer
	if err := (&Query{Raw: true}).Run(context.Background(), dir, "vm1", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(all.String(), out.String()) || out.Len() < 3000 {
		t.Fatalf("query over the rotated files is not the tail of the output (%d bytes)", out.Len())
	}
	// grep across the rotation boundary
	out.Reset()
	(&Query{Grep: regexp.MustCompile(`line 1[0-9]9 `), Context: 1}).Run(context.Background(), dir, "vm1", &out)
	if !strings.Contains(out.String(), "line 158 of the console\nline 159 of the console\nline 160 of the console\n--\nline 168") {
		t.Errorf("grep with context:\n%s", out.String())
	}
}

// The time index finds a range, and timestamps come from it.
func TestTimeIndex(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, "m", Options{MaxSize: 4096, Keep: 5})
	clock := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return clock }
	for i := 0; i < 600; i++ { // one line a second for ten minutes
		fmt.Fprintf(l, "tick %03d\r\n", i)
		clock = clock.Add(time.Second)
	}
	l.Close()
	var out bytes.Buffer
	q := &Query{Since: time.Date(2026, 11, 23, 3, 5, 0, 0, time.UTC), Until: time.Date(2026, 11, 23, 3, 5, 2, 0, time.UTC), Timestamps: true}
	if err := q.Run(context.Background(), dir, "m", &out); err != nil {
		t.Fatal(err)
	}
	want := "2026-11-23T03:05:00Z tick 300\n2026-11-23T03:05:01Z tick 301\n2026-11-23T03:05:02Z tick 302\n"
	if out.String() != want {
		t.Errorf("range query:\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	(&Query{Tail: 2}).Run(context.Background(), dir, "m", &out)
	if out.String() != "tick 598\ntick 599\n" {
		t.Errorf("tail: %q", out.String())
	}
}

func TestVisible(t *testing.T) {
	if got := string(Visible([]byte("a\x1b[2Jb\tc\rdé\xff"))); got != "a^[[2Jb\tcdé\\xff" {
		t.Errorf("Visible = %q", got)
	}
}

// Marks are lines of their own and never split a line of output.
func TestMarksDoNotSplitLines(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, "m", Options{})
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	l.Mark("console up", at)
	l.Write([]byte("login: "))
	l.Mark("alice attached rw", at)
	l.Write([]byte("root\r\nPassword:"))
	l.MarkEnd("console down: EOF", at)
	l.Close()
	want := "[-- consoled: console up 2026-11-23T10:00:00Z --]\n" +
		"login: root\r\n" +
		"[-- consoled: alice attached rw 2026-11-23T10:00:00Z --]\n" +
		"Password:\n" +
		"[-- consoled: console down: EOF 2026-11-23T10:00:00Z (mid-line) --]\n"
	if got := read(t, filepath.Join(dir, "m.log")); got != want {
		t.Errorf("log:\n%q\nwant\n%q", got, want)
	}
}

// Reopening an existing log appends; a file left mid-line by an earlier run
// (kill -9 at a prompt) is a line that will not end: the first mark goes
// on a line of its own at once, flagged, however it is made.
func TestReopenAppends(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, "m", Options{})
	l.Write([]byte("first"))
	l.Close()
	l, _ = Open(dir, "m", Options{})
	l.Mark("console up", time.Unix(0, 0))
	if got := read(t, filepath.Join(dir, "m.log")); got != "first\n[-- consoled: console up 1970-01-01T00:00:00Z (mid-line) --]\n" {
		t.Errorf("got %q", got)
	}
	l.Close()
}

// A write failure loses the bytes, is reported by Err, and the log says so
// once writing works again.
func TestWriteFailureIsMarked(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, "m", Options{})
	l.Write([]byte("before\n"))
	good := l.f
	flush(l)
	bad, _ := os.Open(filepath.Join(dir, "m.log")) // read-only: writes fail
	l.f = bad
	l.Write([]byte("lost bytes\n"))
	flush(l)
	if l.Err() == nil {
		t.Fatal("Err is nil after a failed write")
	}
	bad.Close()
	l.f = good
	l.Write([]byte("after\n"))
	flush(l)
	l.Close()
	got := read(t, filepath.Join(dir, "m.log"))
	if !regexp.MustCompile(`^before\n\[-- consoled: log gap: 11 bytes not recorded: writing stopped at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ and resumed at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: writing [^\n]*bad file descriptor [^\n]* --\]\nafter\n$`).MatchString(got) {
		t.Errorf("log:\n%s", got)
	}
	if l.Err() != nil {
		t.Errorf("Err still set: %v", l.Err())
	}
	if n := l.Stats().WriteErrors; n != 1 {
		t.Errorf("%d write errors counted, want 1", n)
	}
}

func TestTail(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, "m", Options{})
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(l, "line %d\r\n", i)
	}
	l.Write([]byte("prompt# "))
	got, err := l.Tail(3)
	if err != nil || string(got) != "line 4998\r\nline 4999\r\nprompt# " {
		t.Errorf("Tail(3) = %q, %v", got, err)
	}
	if got, _ := l.Tail(100000); !strings.HasPrefix(string(got), "line 0\r\n") {
		t.Errorf("Tail of more lines than the file has starts %q", got[:20])
	}
}

// TailBytes starts at a line start within its bytes, or takes them all
// when no line starts there (a screen drawn without line ends).
func TestTailBytes(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, "m", Options{})
	defer l.Close()
	for i := 0; i < 100; i++ {
		fmt.Fprintf(l, "line %02d\r\n", i)
	}
	if got, err := l.TailBytes(25); err != nil || string(got) != "line 98\r\nline 99\r\n" {
		t.Errorf("TailBytes(25) = %q, %v", got, err)
	}
	if got, _ := l.TailBytes(1 << 20); !strings.HasPrefix(string(got), "line 00\r\n") || len(got) != 900 {
		t.Errorf("TailBytes of more than the file starts %q, %d bytes", got[:10], len(got))
	}
	l.Write([]byte(strings.Repeat("\x1b[5;5Hmenu", 10)))
	if got, _ := l.TailBytes(30); len(got) != 30 {
		t.Errorf("TailBytes(30) within one line: %q", got)
	}
}

func flush(l *Log) { l.Flush() }

// Output reaches the file within flushEvery without Close.
func TestFlushedSoon(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, "m", Options{})
	defer l.Close()
	l.Write([]byte("soon\n"))
	deadline := time.Now().Add(flushEvery + 100*time.Millisecond)
	for {
		if b, _ := os.ReadFile(filepath.Join(dir, "m.log")); string(b) == "soon\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("not on disk within the flush interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// --follow prints lines as they are written, across a rotation, and loses
// none written to the old file between its last poll and the rotation.
func TestFollow(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, "m", Options{MaxSize: 4096, Keep: 2})
	defer l.Close()
	l.Write([]byte("before\r\n"))
	l.Flush()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- (&Query{Follow: true, Poll: 300 * time.Millisecond}).Run(ctx, dir, "m", out) }()
	waitOut := func(s string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("follow printed:\n%s", out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitOut("before\n")
	time.Sleep(350 * time.Millisecond) // a poll has seen the file as it is
	// About 5.6 KiB, all within one poll interval: the rotation comes
	// between polls, after lines the follower has not read yet.
	var want strings.Builder
	want.WriteString("before\n")
	for i := 0; i < 400; i++ {
		fmt.Fprintf(l, "followed %03d\r\n", i)
		fmt.Fprintf(&want, "followed %03d\n", i)
		if i%20 == 0 {
			l.Flush()
		}
	}
	l.Flush()
	if l.Stats().Rotations != 1 {
		t.Fatalf("%d rotations, want 1", l.Stats().Rotations)
	}
	waitOut("followed 399\n")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != want.String() {
		t.Errorf("follow printed %d lines, want every one once, in order:\n%s", strings.Count(got, "\n"), got)
	}
}
