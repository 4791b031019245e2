package logstore

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// readRotated returns the bytes of NAME.log.K(.gz).
func readRotated(t *testing.T, dir, name string, k int) []byte {
	t.Helper()
	base := filepath.Join(dir, fmt.Sprintf("%s.log.%d", name, k))
	if b, err := os.ReadFile(base); err == nil {
		return b
	}
	f, err := os.Open(base + ".gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A console that trickles (37-byte pieces, lines cut anywhere) rotates at
// line ends: every file holds whole lines, none passes max_size, and
// together they are every byte in order.
func TestRotationAtLineEnds(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, "m", Options{MaxSize: 4096, Keep: 50})
	var all bytes.Buffer
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&all, "line %05d of a trickling console%s\r\n", i, strings.Repeat("x", i%50))
	}
	for b := all.Bytes(); len(b) > 0; {
		n := min(37, len(b))
		l.Write(b[:n])
		b = b[n:]
	}
	l.Close()
	rotations := int(l.Stats().Rotations)
	if rotations < 10 || rotations >= 50 {
		t.Fatalf("%d rotations", rotations)
	}
	var got []byte
	for k := rotations; k >= 1; k-- {
		f := readRotated(t, dir, "m", k)
		if len(f) > 4096 || !bytes.HasSuffix(f, []byte("\n")) || !bytes.HasPrefix(f, []byte("line ")) {
			t.Errorf("m.log.%d (%d bytes) is not whole lines within max_size: %q ... %q", k, len(f), f[:20], f[len(f)-20:])
		}
		got = append(got, f...)
	}
	got = append(got, read(t, filepath.Join(dir, "m.log"))...)
	if !bytes.Equal(got, all.Bytes()) {
		t.Errorf("the files together are not the output (%d bytes, want %d)", len(got), all.Len())
	}
}

// A console that never ends a line still rotates, at max_size exactly,
// and marks after the cut still start a line of their own in the stream.
func TestRotationCutsEndlessLine(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, "m", Options{MaxSize: 4096, Keep: 5})
	endless := bytes.Repeat([]byte("."), 3*4096+100)
	for b := endless; len(b) > 0; b = b[min(500, len(b)):] {
		l.Write(b[:min(500, len(b))])
	}
	l.MarkEnd("console down: EOF", testTime)
	l.Close()
	for k := 1; k <= 3; k++ {
		if n := len(readRotated(t, dir, "m", k)); n != 4096 {
			t.Errorf("m.log.%d is %d bytes, want 4096", k, n)
		}
	}
	cur := read(t, filepath.Join(dir, "m.log"))
	if want := strings.Repeat(".", 100) + "\n[-- consoled: console down: EOF 2026-11-23T10:00:00Z (mid-line) --]\n"; cur != want {
		t.Errorf("m.log = %q", cur)
	}
}

// max_total is a bound on the console logs in the directory, kept at every
// moment (current logs and compression included), not only at rotation; it
// removes the oldest rotated logs first, those of a console no longer
// configured included, and never a file consoled did not write.
func TestBudgetIsABound(t *testing.T) {
	dir := t.TempDir()
	const limit = 48 << 10
	b := NewBudget(limit)
	foreign := map[string][]byte{"other.gz": gz(t, "someone's"), "backup.log.1.gz": gz(t, "not consoled's"), "notes.txt": []byte("keep me")}
	for name, data := range foreign {
		os.WriteFile(filepath.Join(dir, name), data, 0o640)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	line := func() []byte { // hex: compresses to about half
		p := make([]byte, 40)
		for i := range p {
			p[i] = byte(rnd.Uint32())
		}
		return fmt.Appendf(nil, "%x\r\n", p)
	}
	gone, _ := Open(dir, "gone", Options{MaxSize: 4096, Keep: 100, Budget: b})
	for i := 0; i < 300; i++ {
		gone.Write(line())
	}
	gone.Close() // no longer configured: its rotated logs stay, and count
	if _, err := os.Stat(filepath.Join(dir, "gone.log.1.gz")); err != nil {
		t.Fatal(err)
	}
	ours := func() int64 { // what max_total bounds
		// Files are renamed and removed with the budget's lock held: with
		// it, a listing cannot see one file under two names (files only
		// grow meanwhile, by writes the budget has counted already).
		b.mu.Lock()
		defer b.mu.Unlock()
		var total int64
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if foreign[e.Name()] != nil || e.Name() == "gone.log" || e.Name() == "gone.log.idx" {
				continue
			}
			if info, err := e.Info(); err == nil {
				total += info.Size()
			}
		}
		return total
	}
	var logs []*Log
	for _, name := range []string{"a", "b", "c"} {
		l, _ := Open(dir, name, Options{MaxSize: 4096, Keep: 100, Budget: b})
		logs = append(logs, l)
	}
	peak := int64(0)
	for i := 0; i < 3000; i++ {
		l := logs[i%3]
		l.Write(line())
		if i%7 == 0 {
			l.Flush()
			peak = max(peak, ours())
		}
	}
	for _, l := range logs {
		l.Flush()
	}
	peak = max(peak, ours())
	for _, l := range logs {
		l.Close() // the current logs of consoles closed (no longer configured) are not counted
	}
	if peak > limit {
		t.Errorf("the console logs reached %d bytes, over max_total %d", peak, limit)
	}
	for name, data := range foreign {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(b, data) {
			t.Errorf("%s was touched: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "gone.log.1.gz")); err == nil {
		t.Errorf("the removed console's rotated logs, the oldest, are still there")
	}
	for _, name := range []string{"a", "b", "c"} {
		if _, err := os.Stat(filepath.Join(dir, name+".log.1.gz")); err != nil {
			t.Errorf("%s's newest rotated log was removed before older ones", name)
		}
	}
	t.Logf("peak %d bytes of console logs, max_total %d", peak, limit)
}

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

var testTime = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// A max_total that does not leave room for the current logs cannot be
// kept by removing rotated logs: recording goes on (nothing is lost but
// what max_total removes) and consoled says why in its own log.
func TestBudgetTooSmallKeepsRecording(t *testing.T) {
	var out syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&out, nil)))
	defer slog.SetDefault(old)
	dir := t.TempDir()
	b := NewBudget(6 << 10)
	l1, _ := Open(dir, "a", Options{MaxSize: 4096, Keep: 5, Budget: b})
	l2, _ := Open(dir, "b", Options{MaxSize: 4096, Keep: 5, Budget: b})
	// 125 lines of 28 bytes: 3,500 bytes a console, under max_size, so
	// neither rotates and the two current logs alone (7,000 bytes) pass
	// max_total whenever the background flusher writes them.
	var want bytes.Buffer
	for i := 0; i < 125; i++ {
		line := fmt.Sprintf("line %03d of both consoles\r\n", i)
		want.WriteString(line)
		l1.Write([]byte(line))
		l2.Write([]byte(line))
	}
	l1.Flush()
	l2.Flush()
	for _, l := range []*Log{l1, l2} {
		if st := l.Stats(); st.Written != uint64(want.Len()) || l.Err() != nil {
			t.Errorf("%s: %d bytes written of %d (%v)", l.Path(), st.Written, want.Len(), l.Err())
		}
	}
	if !strings.Contains(out.String(), "no rotated log left to remove") {
		t.Errorf("no warning:\n%s", out.String())
	}
	l1.Close()
	l2.Close()
}

// syncBuffer is a bytes.Buffer for a logger written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
