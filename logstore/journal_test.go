package logstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// idxOpens counts the opens of files named *.idx in a directory (inotify).
type idxOpens struct {
	fd  int
	buf []byte
}

func watchIdxOpens(t *testing.T, dir string) *idxOpens {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_OPEN); err != nil {
		t.Fatalf("watching %s: %v", dir, err)
	}
	return &idxOpens{fd: fd, buf: make([]byte, 64<<10)}
}

// count reads the events queued so far and returns the opens of indexes.
func (w *idxOpens) count(t *testing.T) int {
	t.Helper()
	n := 0
	for {
		got, err := unix.Read(w.fd, w.buf)
		if err == unix.EAGAIN {
			return n
		}
		if err != nil {
			t.Fatalf("reading inotify events: %v", err)
		}
		for b := w.buf[:got]; len(b) >= unix.SizeofInotifyEvent; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
			name := string(bytes.TrimRight(b[unix.SizeofInotifyEvent:unix.SizeofInotifyEvent+int(ev.Len)], "\x00"))
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				t.Fatal("inotify queue overflowed")
			}
			if strings.HasSuffix(name, ".idx") {
				n++
			}
			b = b[unix.SizeofInotifyEvent+int(ev.Len):]
		}
	}
}

// A trickle on many consoles (a byte every 100 ms each, for over two
// seconds) opens no index file: each second's entries of every console go
// to the directory's journal in one write per flush, not through an
// open, write and close per console per second. Readers still find the
// last second at once.
func TestTrickleOpensNoIndex(t *testing.T) {
	dir := t.TempDir()
	const n = 50
	logs := openLogs(t, dir, n)
	for _, l := range logs {
		l.Write([]byte("boot\n")) // a file's first entry is indexed at once
		l.Flush()
	}
	w := watchIdxOpens(t, dir)
	w.count(t)
	start := time.Now()
	for round := 0; time.Since(start) < 2500*time.Millisecond; round++ {
		for i, l := range logs {
			fmt.Fprintf(l, "c%02d round %d\n", i, round)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * flushEvery) // the last flush
	if got := w.count(t); got != 0 {
		t.Errorf("%d opens of index files while %d consoles trickled for 2.5 s, want none (journaled)", got, n)
	}
	st, err := os.Stat(filepath.Join(dir, JournalName))
	if err != nil || st.Size() == 0 {
		t.Fatalf("the index journal is empty or missing: %v", err)
	}
	// The last second is found through the index (consolidated for the reader).
	var out bytes.Buffer
	last := time.Now().Add(-time.Second)
	if err := (&Query{Since: last, Timestamps: true}).Run(context.Background(), dir, "c07", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "c07 round") || strings.Contains(out.String(), "boot") {
		t.Errorf("--since the last second printed:\n%s", out.String())
	}
}

// fakeClock is a log's clock set by the test.
type fakeClock struct{ sec atomic.Int64 }

func (c *fakeClock) now() time.Time { return time.Unix(c.sec.Load(), 0) }

// Time lookups are exact whatever the state of the entries: still in the
// journal, consolidated by a sweep, by an idle close, across rotations, and
// after Close and a fresh Open.
func TestTimeLookupAcrossConsolidationAndRotation(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, "vm1", Options{MaxSize: 2048, Keep: 50})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{}
	l.now = clk.now
	base := int64(1_800_000_000)
	lines := map[int64][]string{} // second -> lines written in it
	write := func(sec int64, i int) {
		clk.sec.Store(sec)
		s := fmt.Sprintf("second %d line %d padding the line to rotate sooner\n", sec, i)
		l.Write([]byte(s))
		lines[sec] = append(lines[sec], strings.TrimSuffix(s, "\n"))
	}
	check := func(stage string, sec int64) {
		t.Helper()
		for _, s := range []int64{base, base + 7, sec - 1, sec} {
			var out bytes.Buffer
			q := &Query{Since: time.Unix(s, 0), Until: time.Unix(s, 0), Timestamps: true}
			if err := q.Run(context.Background(), dir, "vm1", &out); err != nil {
				t.Fatal(err)
			}
			var want strings.Builder
			for _, line := range lines[s] {
				fmt.Fprintf(&want, "%s %s\n", time.Unix(s, 0).UTC().Format(time.RFC3339), line)
			}
			if out.String() != want.String() {
				t.Errorf("%s: second %d:\n%s\nwant\n%s", stage, s-base, out.String(), want.String())
			}
		}
	}
	sec := base
	for ; sec < base+20; sec++ {
		for i := range 4 {
			write(sec, i)
		}
		l.Flush()
	}
	check("entries in the journal", sec-1)
	if l.Stats().Rotations == 0 {
		t.Fatal("no rotation")
	}
	l.jr.sweep()
	if st, _ := os.Stat(filepath.Join(dir, JournalName)); st.Size() != 0 {
		t.Errorf("the journal holds %d bytes after a consolidation of everything", st.Size())
	}
	for ; sec < base+40; sec++ {
		for i := range 4 {
			write(sec, i)
		}
		l.Flush()
		if sec%5 == 0 {
			l.jr.sweep()
		}
		if sec%7 == 0 {
			l.mu.Lock()
			l.closeFile() // idle
			l.mu.Unlock()
		}
	}
	check("consolidated by sweeps and idle closes", sec-1)
	l.Close()
	check("after Close", sec-1)
	l, err = Open(dir, "vm1", Options{MaxSize: 2048, Keep: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.now = clk.now
	for ; sec < base+45; sec++ {
		write(sec, 0)
		l.Flush()
	}
	check("opened again", sec-1)
}

// A follow with --timestamps prints each new line with its own second,
// though its entry is still in the journal when the line is read.
func TestFollowTimestampsOfJournaledEntries(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, "vm1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	clk := &fakeClock{}
	l.now = clk.now
	base := int64(1_800_000_000)
	clk.sec.Store(base)
	l.Write([]byte("first\n"))
	l.Flush()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- (&Query{Follow: true, Timestamps: true, Poll: 20 * time.Millisecond}).Run(ctx, dir, "vm1", out)
	}()
	waitFor(t, out, "first\n")
	var want strings.Builder
	fmt.Fprintf(&want, "%s first\n", time.Unix(base, 0).UTC().Format(time.RFC3339))
	for i := int64(1); i <= 5; i++ {
		clk.sec.Store(base + i*10)
		fmt.Fprintf(l, "line %d\n", i)
		l.Flush()
		fmt.Fprintf(&want, "%s line %d\n", time.Unix(base+i*10, 0).UTC().Format(time.RFC3339), i)
		waitFor(t, out, fmt.Sprintf("line %d\n", i))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() {
		t.Errorf("follow --timestamps printed:\n%s\nwant\n%s", out.String(), want.String())
	}
}

// Records written while a consolidation runs are not lost with what it
// consolidated: the journal is replaced by a file holding only them, still
// locked against an offline merge.
func TestSweepKeepsRecordsWrittenMeanwhile(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir, "a", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(dir, "b", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	clk := &fakeClock{}
	clk.sec.Store(1_800_000_000)
	a.now, b.now = clk.now, clk.now
	for _, l := range []*Log{a, b} {
		l.Write([]byte("first\n")) // indexed at once (a file's first entry)
		l.Flush()
	}
	clk.sec.Add(1)
	a.Write([]byte("a two\n"))
	a.Flush()
	b.Write([]byte("b two\n"))
	b.Flush()
	j := a.jr
	j.write() // the flusher's pass: both second entries in the journal
	path := filepath.Join(dir, JournalName)
	st0, _ := os.Stat(path)

	a.mu.Lock() // the sweep will wait for a
	swept := make(chan struct{})
	go func() { j.sweep(); close(swept) }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		j.mu.Lock()
		started := j.dirty == nil
		j.mu.Unlock()
		if started {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweep did not start")
		}
	}
	clk.sec.Add(1)
	b.Write([]byte("b three\n"))
	b.Flush()
	j.write() // written while the sweep runs
	a.mu.Unlock()
	<-swept

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	left := parseJournal(data)
	if len(left) != 1 || len(left["b"]) != 1 || left["b"][0].sec != uint64(clk.sec.Load()) {
		t.Errorf("the journal holds %v after the sweep, want only b's entry written meanwhile", left)
	}
	if st, _ := os.Stat(path); os.SameFile(st, st0) {
		t.Errorf("the journal was not replaced")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != unix.EWOULDBLOCK {
		t.Errorf("locking the replaced journal from elsewhere: %v, want EWOULDBLOCK (held by its writer)", err)
	}
	// b's entry written meanwhile was consolidated too (its record, kept,
	// would add nothing to a merge).
	for name, want := range map[string]int64{"a": 2, "b": 3} {
		if st, err := os.Stat(filepath.Join(dir, name+".log.idx")); err != nil || st.Size() != want*entrySize {
			t.Errorf("%s.log.idx after the sweep: %v, want %d entries", name, err, want)
		}
	}
}
