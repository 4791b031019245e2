package logstore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
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

// Rotation keeps every byte, in order, across NAME.log.K .. NAME.log, and
// never more than Keep rotated files.
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
	l.Close()
	var got string
	for k := 3; k >= 1; k-- {
		got += read(t, filepath.Join(dir, fmt.Sprintf("vm1.log.%d", k)))
	}
	got += read(t, filepath.Join(dir, "vm1.log"))
	if !strings.HasSuffix(all.String(), got) {
		t.Fatalf("rotated files are not the tail of the output")
	}
	if len(got) < 3000 {
		t.Errorf("kept only %d bytes with 3 rotations of 1000", len(got))
	}
	if _, err := os.Stat(filepath.Join(dir, "vm1.log.4")); !os.IsNotExist(err) {
		t.Errorf("vm1.log.4 exists with keep = 3")
	}
	for _, f := range []string{"vm1.log", "vm1.log.1", "vm1.log.2", "vm1.log.3"} {
		st, _ := os.Stat(filepath.Join(dir, f))
		if st.Size() > 1000 {
			t.Errorf("%s is %d bytes, over max_size", f, st.Size())
		}
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
		"[-- consoled: console down: EOF 2026-11-23T10:00:00Z --]\n"
	if got := read(t, filepath.Join(dir, "m.log")); got != want {
		t.Errorf("log:\n%q\nwant\n%q", got, want)
	}
}

// Reopening an existing log appends and knows whether it ended mid-line.
func TestReopenAppends(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, "m", Options{})
	l.Write([]byte("first"))
	l.Close()
	l, _ = Open(dir, "m", Options{})
	l.MarkEnd("console up", time.Unix(0, 0))
	l.Close()
	if got := read(t, filepath.Join(dir, "m.log")); got != "first\n[-- consoled: console up 1970-01-01T00:00:00Z --]\n" {
		t.Errorf("got %q", got)
	}
}

// A write failure loses the bytes, is reported by Err, and the log says so
// once writing works again.
func TestWriteFailureIsMarked(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, "m", Options{})
	l.Write([]byte("before\n"))
	good := l.f
	bad, _ := os.Open(filepath.Join(dir, "m.log")) // read-only: writes fail
	l.f = bad
	l.Write([]byte("lost bytes\n"))
	if l.Err() == nil {
		t.Fatal("Err is nil after a failed write")
	}
	bad.Close()
	l.f = good
	l.Write([]byte("after\n"))
	l.Close()
	got := read(t, filepath.Join(dir, "m.log"))
	if !strings.HasPrefix(got, "before\n[-- consoled: log gap: 11 bytes not recorded: ") || !strings.HasSuffix(got, "--]\nafter\n") {
		t.Errorf("log:\n%s", got)
	}
	if l.Err() != nil {
		t.Errorf("Err still set: %v", l.Err())
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
