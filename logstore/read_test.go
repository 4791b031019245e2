package logstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// at is a time on the test's day, 2026-11-30 hh:mm:ss UTC.
func at(hh, mm, ss int) time.Time { return time.Date(2026, 11, 30, hh, mm, ss, 0, time.UTC) }

// clockLog is a log whose clock the test sets.
func clockLog(t *testing.T, dir string, opts Options) (*Log, *time.Time) {
	t.Helper()
	l, err := Open(dir, "vm1", opts)
	if err != nil {
		t.Fatal(err)
	}
	clock := new(time.Time)
	l.now = func() time.Time { return *clock }
	return l, clock
}

func query(t *testing.T, dir string, q Query) string {
	t.Helper()
	var out bytes.Buffer
	if err := q.Run(context.Background(), dir, "vm1", &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// A line belongs to a range if any of its bytes arrived in it: a SysRq
// reply printed at 01:38:31 after a prompt printed at 01:37:45 is found by
// --since 01:38:00 --until 01:38:33, and --timestamps shows both ends.
func TestRangeSelectsLineByAnyByte(t *testing.T) {
	dir := t.TempDir()
	l, clock := clockLog(t, dir, Options{})
	*clock = at(1, 30, 0)
	l.Write([]byte("before the range\r\n"))
	*clock = at(1, 37, 45)
	l.Write([]byte("bash-5.2# "))
	*clock = at(1, 38, 31)
	l.Write([]byte("[  161.2] sysrq: HELP : loglevel(0-9) reboot(b)\r\n"))
	*clock = at(1, 38, 40)
	l.Write([]byte("after the range\r\n"))
	l.Close()

	got := query(t, dir, Query{Since: at(1, 38, 0), Until: at(1, 38, 33), Grep: regexp.MustCompile(`sysrq: HELP`), Timestamps: true})
	want := "2026-11-30T01:37:45Z..01:38:31Z bash-5.2# [  161.2] sysrq: HELP : loglevel(0-9) reboot(b)\n"
	if got != want {
		t.Errorf("--since 01:38:00 --until 01:38:33 --grep --timestamps:\n%q\nwant\n%q", got, want)
	}
	// The same line from the other end: a range that holds only its first byte.
	got = query(t, dir, Query{Since: at(1, 37, 40), Until: at(1, 37, 50)})
	if got != "bash-5.2# [  161.2] sysrq: HELP : loglevel(0-9) reboot(b)\n" {
		t.Errorf("--since 01:37:40 --until 01:37:50:\n%q", got)
	}
	// Lines wholly outside are not selected; a line of one second shows one time.
	got = query(t, dir, Query{Since: at(1, 38, 35), Timestamps: true})
	if got != "2026-11-30T01:38:40Z after the range\n" {
		t.Errorf("--since 01:38:35:\n%q", got)
	}
}

// A panic printed after a login prompt that sat for hours is within
// --since 2h; the line is found though its first byte is older.
func TestRangeFindsLineStartedLongBefore(t *testing.T) {
	dir := t.TempDir()
	l, clock := clockLog(t, dir, Options{MaxSize: 4096, Keep: 3})
	*clock = at(0, 0, 0)
	for i := 0; i < 100; i++ { // boot noise, enough to rotate
		fmt.Fprintf(l, "boot line %02d ..............................................\r\n", i)
	}
	l.Write([]byte("\r\nvm1 login: "))
	*clock = at(4, 0, 7)
	l.Write([]byte("[ 14407.1] Kernel panic - not syncing: Fatal exception\r\n"))
	l.Close()
	got := query(t, dir, Query{Since: at(2, 0, 7), Grep: regexp.MustCompile(`Kernel panic`)})
	if got != "vm1 login: [ 14407.1] Kernel panic - not syncing: Fatal exception\n" {
		t.Errorf("--since 2h --grep 'Kernel panic':\n%q", got)
	}
}

// writeRecord writes a log as rotation leaves it, file by file (the last
// is NAME.log, the others NAME.log.K.gz, oldest first), each byte stamped
// with the second of its file's entry, so a test can cut lines where it
// wants whatever the writer does.
func writeRecord(t *testing.T, dir string, files ...[]string) {
	t.Helper()
	sec := at(3, 0, 0).Unix()
	for i, chunks := range files {
		k := len(files) - 1 - i
		name := filepath.Join(dir, "vm1.log")
		if k > 0 {
			name += fmt.Sprint(".", k)
		}
		var data, idx []byte
		for _, c := range chunks {
			idx = append(idx, indexEntry(sec, int64(len(data)))...)
			data = append(data, c...)
			sec++
		}
		if err := os.WriteFile(name+".idx", idx, 0o640); err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			os.WriteFile(name, data, 0o640)
			continue
		}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		os.WriteFile(name+".gz", z.Bytes(), 0o640)
	}
}

// A line cut in two by rotation is one line to --grep and --context, and
// --raw gives back the bytes as recorded, CRLF, bare CR and an unended
// last line included.
func TestSearchSeesOneStreamAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	writeRecord(t, dir,
		[]string{"one\r\n", "two\r\nthe straddling li"},
		[]string{"ne with the word\r\nthree\r\n", "progress 10%\rprogress 100%\r\n"},
		[]string{"four\r\n", "prompt# "},
	)
	if got := query(t, dir, Query{Grep: regexp.MustCompile(`straddling line`), Context: 1, Timestamps: true}); got !=
		"2026-11-30T03:00:01Z two\n2026-11-30T03:00:01Z..03:00:02Z the straddling line with the word\n2026-11-30T03:00:02Z three\n" {
		t.Errorf("--grep --context 1 across files:\n%q", got)
	}
	if got := query(t, dir, Query{Since: at(3, 0, 2), Until: at(3, 0, 2), Grep: regexp.MustCompile(`word`)}); got != "the straddling line with the word\n" {
		t.Errorf("a range holding the line's end only:\n%q", got)
	}
	want := "one\r\ntwo\r\nthe straddling line with the word\r\nthree\r\nprogress 10%\rprogress 100%\r\nfour\r\nprompt# "
	if got := query(t, dir, Query{Raw: true}); got != want {
		t.Errorf("--raw:\n%q\nwant\n%q", got, want)
	}
	if got := query(t, dir, Query{}); got != "one\ntwo\nthe straddling line with the word\nthree\nprogress 10%progress 100%\nfour\nprompt# \n" {
		t.Errorf("plain:\n%q", got)
	}
	for n, want := range map[int]string{
		1: "prompt# \n",
		3: "progress 10%progress 100%\nfour\nprompt# \n",
		5: "the straddling line with the word\nthree\nprogress 10%progress 100%\nfour\nprompt# \n",
		9: "one\ntwo\nthe straddling line with the word\nthree\nprogress 10%progress 100%\nfour\nprompt# \n",
	} {
		if got := query(t, dir, Query{Tail: n}); got != want {
			t.Errorf("--tail %d:\n%q\nwant\n%q", n, got, want)
		}
		// the same through the counting pass --grep takes
		if got := query(t, dir, Query{Tail: n, Grep: regexp.MustCompile(``)}); got != want {
			t.Errorf("--tail %d --grep '':\n%q\nwant\n%q", n, got, want)
		}
	}
	if got := query(t, dir, Query{Tail: 2, Grep: regexp.MustCompile(`progress`), Context: 1}); got != "progress 10%progress 100%\nfour\n" {
		t.Errorf("--tail 2 --grep progress --context 1:\n%q", got)
	}
}

// Memory does not grow with --tail, --context or the size of the log: a
// 12 MiB log in three files (two compressed) is read with --tail and
// --context of a million lines while the live heap stays a small fraction
// of it (the live heap, sampled by a collection every few writes).
func TestReadMemoryBounded(t *testing.T) {
	dir := t.TempDir()
	var files [][]string
	n := 0
	for f := 0; f < 3; f++ {
		var chunks []string
		for c := 0; c < 64; c++ {
			var b strings.Builder
			for b.Len() < 64<<10 {
				fmt.Fprintf(&b, "line %08d of a console that prints a lot\r\n", n)
				n++
			}
			chunks = append(chunks, b.String())
		}
		files = append(files, chunks)
	}
	writeRecord(t, dir, files...)
	files = nil
	size := uint64(3 * 64 * (64 << 10))
	last := fmt.Sprintf("line %08d ", n-1)
	for _, q := range []Query{
		{Tail: 1000000, Raw: true},
		{Tail: 1000000},
		{Tail: 1000000, Grep: regexp.MustCompile(`line`)},
		{Grep: regexp.MustCompile(last), Context: 1000000},
	} {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		out := &countWriter{}
		if err := q.Run(context.Background(), dir, "vm1", out); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out.last, []byte(last)) || out.lines < int64(n) {
			t.Errorf("%+v printed %d lines ending %q, want all %d", q, out.lines, out.last, n)
		}
		if grew := out.peak - min(out.peak, base.HeapAlloc); grew > size/8 {
			t.Errorf("tail %d, context %d: the heap grew by %d bytes reading a %d-byte log", q.Tail, q.Context, grew, size)
		}
	}
}

// countWriter counts lines, keeps the end of what is written and samples
// the live heap.
type countWriter struct {
	lines  int64
	last   []byte
	writes int
	peak   uint64
}

func (w *countWriter) Write(p []byte) (int, error) {
	w.lines += int64(bytes.Count(p, []byte{'\n'}))
	w.last = append(w.last[:0], p[max(0, len(p)-200):]...)
	if w.writes++; w.writes%8 == 0 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		w.peak = max(w.peak, m.HeapAlloc)
	}
	return len(p), nil
}

// Where consoled ended the machine's line to write a mark (flagged
// "(mid-line)"), the marks come first and the machine's line is whole
// after them, for reading and searching; --raw keeps the bytes as recorded.
func TestLinesWholeAroundMidLineMarks(t *testing.T) {
	dir := t.TempDir()
	bob := string(MarkLine("bob attached rw", at(3, 0, 1), true))
	alice := string(MarkLine("alice attached ro", at(3, 0, 1), false))
	writeRecord(t, dir, []string{"bash-5.2# ", bob + alice, "ls\r\n", "file\r\nprompt# ", bob})
	want := strings.TrimPrefix(bob, "\n") + alice + "bash-5.2# ls\nfile\n" + strings.TrimPrefix(bob, "\n") + "prompt# \n"
	if got := query(t, dir, Query{}); got != want {
		t.Errorf("plain:\n%q\nwant\n%q", got, want)
	}
	if got := query(t, dir, Query{Grep: regexp.MustCompile(`bash-5.2# ls$`), Timestamps: true}); got != "2026-11-30T03:00:00Z..03:00:02Z bash-5.2# ls\n" {
		t.Errorf("--grep 'bash-5.2# ls$' --timestamps:\n%q", got)
	}
	if got := query(t, dir, Query{Grep: regexp.MustCompile(`# ls`), Context: 1}); got != alice+"bash-5.2# ls\nfile\n" {
		t.Errorf("--grep '# ls' --context 1:\n%q", got)
	}
	if got := query(t, dir, Query{Raw: true}); got != "bash-5.2# "+bob+alice+"ls\r\nfile\r\nprompt# "+bob {
		t.Errorf("--raw:\n%q", got)
	}

	// The same from the writer: a mark while the machine sits at a prompt.
	dir = t.TempDir()
	l, err := Open(dir, "vm1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("bash-5.2# "))
	l.Mark("bob attached rw", time.Now())
	readUntil(t, filepath.Join(dir, "vm1.log"), "(mid-line) --]\n")
	l.Write([]byte("uname\r\nLinux\r\n"))
	l.Close()
	if got := query(t, dir, Query{Grep: regexp.MustCompile(`# uname`)}); got != "bash-5.2# uname\n" {
		t.Errorf("--grep '# uname' after a mark at the prompt:\n%q\nlog:\n%q", got, read(t, filepath.Join(dir, "vm1.log")))
	}
}

func readUntil(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, _ := os.ReadFile(path); strings.Contains(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %q", path, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
