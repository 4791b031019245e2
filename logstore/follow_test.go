package logstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// --follow loses nothing at a rotation: lines that rotation cut come out
// whole, whether output trickles in (37-byte chunks every 2 ms, a poll
// between rotations) or several rotations come within one poll.
func TestFollowAcrossRotations(t *testing.T) {
	for _, c := range []struct {
		name  string
		poll  time.Duration
		pause time.Duration
	}{{"trickle", 20 * time.Millisecond, 2 * time.Millisecond}, {"burst", 500 * time.Millisecond, 0}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := Open(dir, "vm1", Options{MaxSize: 4096, Keep: 20})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			l.Write([]byte("start\r\n"))
			l.Flush()
			ctx, cancel := context.WithCancel(context.Background())
			out := &syncBuffer{}
			done := make(chan error, 1)
			go func() { done <- (&Query{Follow: true, Poll: c.poll}).Run(ctx, dir, "vm1", out) }()
			waitFor(t, out, "start\n")
			var stream bytes.Buffer
			for i := 0; i < 500; i++ {
				fmt.Fprintf(&stream, "trickled line %04d of the console, about sixty bytes\r\n", i)
			}
			for b := stream.Bytes(); len(b) > 0; {
				n := min(37, len(b))
				l.Write(b[:n])
				l.Flush()
				b = b[n:]
				time.Sleep(c.pause)
			}
			if r := l.Stats().Rotations; r < 5 {
				t.Fatalf("%d rotations, want several", r)
			}
			waitFor(t, out, "line 0499")
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got, want := out.String(), "start\n"+strings.ReplaceAll(stream.String(), "\r\n", "\n"); got != want {
				t.Errorf("follow printed %d bytes, want the %d written, in order; first difference at byte %d",
					len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

func waitFor(t *testing.T, out *syncBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", s, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// --follow keeps a line that a rotation cut (the writer cuts a line longer
// than max_size; files of older versions were cut anywhere): the part in
// the old file and the rest in the new one come out as one line.
func TestFollowLineCutByRotation(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "vm1.log")
	write := func(path, s string, sec int64) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		x, _ := os.OpenFile(path+".idx", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		x.Write(indexEntry(sec, st.Size()))
		x.Close()
		f.WriteString(s)
		f.Close()
	}
	sec := at(3, 0, 0).Unix()
	write(base, "first\r\n", sec)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- (&Query{Follow: true, Timestamps: true, Poll: 20 * time.Millisecond}).Run(ctx, dir, "vm1", out)
	}()
	waitFor(t, out, "first\n")
	write(base, "the start of a line", sec+1)
	time.Sleep(100 * time.Millisecond) // polls see the unfinished line
	for _, suffix := range []string{"", ".idx"} {
		if err := os.Rename(base+suffix, base+".1"+suffix); err != nil {
			t.Fatal(err)
		}
	}
	write(base, " and its end\r\nnext\r\n", sec+2)
	waitFor(t, out, "next\n")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := "2026-11-30T03:00:00Z first\n2026-11-30T03:00:01Z..03:00:02Z the start of a line and its end\n2026-11-30T03:00:02Z next\n"
	if out.String() != want {
		t.Errorf("follow printed:\n%q\nwant\n%q", out.String(), want)
	}
}

// A follow whose Finish closes (its console was removed) prints the rest of
// the record, through a rotation that came after its last poll, and ends.
func TestFollowFinish(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, "gone", Options{MaxSize: 4096, Keep: 5})
	if err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("first\r\n"))
	l.Flush()
	finish := make(chan struct{})
	out := &syncBuffer{}
	done := make(chan error, 1)
	q := &Query{Follow: true, Poll: time.Hour, Finish: finish} // no poll comes: only Finish wakes it
	go func() { done <- q.Run(context.Background(), dir, "gone", out) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "first\n") {
		if time.Now().After(deadline) {
			t.Fatalf("follow printed %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var want strings.Builder
	want.WriteString("first\n")
	for i := 0; i < 300; i++ { // about 6 KiB: one rotation
		fmt.Fprintf(l, "last lines %03d\r\n", i)
		fmt.Fprintf(&want, "last lines %03d\n", i)
	}
	l.Mark("console down: console removed from the configuration", time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC))
	want.WriteString("[-- consoled: console down: console removed from the configuration 2026-11-30T03:00:00Z --]\n")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	close(finish)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the follow did not end after Finish; printed %d bytes", len(out.String()))
	}
	if out.String() != want.String() {
		t.Errorf("follow printed %d bytes, want %d; tail %q", len(out.String()), want.Len(), tail(out.String(), 200))
	}
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }
