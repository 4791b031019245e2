package logstore

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// connMark matches the marks that say where a console's connection stands.
func connMark(m Mark) bool {
	return m.Event == "console up" || strings.HasPrefix(m.Event, "console down")
}

// LastMark finds the last matching mark from the log's end, past other
// marks, long lines, lines cut by chunk boundaries and an unfinished last
// line; and says when there is none, or no log at all.
func TestLastMark(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := LastMark(dir, "m", connMark); ok || err != nil {
		t.Fatalf("no log: ok=%v err=%v", ok, err)
	}
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	l, err := Open(dir, "m", Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("boot\r\n"))
	l.Mark("console down: consoled stopping", at)
	l.Mark("console up", at.Add(time.Second))
	// Lines of every length around the 64 KiB chunks, one longer than
	// maxLine that ends with what looks like a mark's tail.
	for i := 0; i < 3000; i++ {
		l.Write(append(bytes.Repeat([]byte{'x'}, i*7%200), "\r\n"...))
	}
	l.Write(append(bytes.Repeat([]byte{'y'}, 3*maxLine), " [-- consoled: console down: fake 2026-11-23T10:00:00Z --]\n"...))
	l.Mark("alice attached rw from 10.0.0.7", at.Add(2*time.Second))
	l.Write([]byte("bash-5.2# "))
	l.Close()

	m, ok, err := LastMark(dir, "m", connMark)
	if err != nil || !ok || m.Event != "console up" || !m.Time.Equal(at.Add(time.Second)) {
		t.Fatalf("LastMark = %+v, %v, %v; want console up at %v", m, ok, err, at.Add(time.Second))
	}
	if m, ok, _ := LastMark(dir, "m", func(m Mark) bool { return m.Event == "nothing like it" }); ok {
		t.Errorf("a mark nobody wrote was found: %+v", m)
	}
	if m, ok, _ := LastMark(dir, "m", func(m Mark) bool { return true }); !ok || !strings.HasPrefix(m.Event, "alice attached") {
		t.Errorf("the very last mark: %+v, %v", m, ok)
	}

	// The first mark of the file is found too (no "\n" before it).
	os.WriteFile(filepath.Join(dir, "n.log"), MarkLine("console up", at, false), 0o640)
	if m, ok, _ := LastMark(dir, "n", connMark); !ok || m.Event != "console up" {
		t.Errorf("a file holding one mark: %+v, %v", m, ok)
	}
}

// When the current file has no matching mark, the rotated files are read,
// newest first, compressed or not.
func TestLastMarkInRotatedFiles(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	base := filepath.Join(dir, "r.log")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(append([]byte("old\r\n"), MarkLine("console up", at, false)...))
	zw.Write(bytes.Repeat([]byte("z"), 2*maxLine)) // a long line: no mark
	zw.Write([]byte("\nmore\r\n"))
	zw.Close()
	os.WriteFile(base+".2.gz", gz.Bytes(), 0o640)
	os.WriteFile(base+".1", []byte("output only\r\n"), 0o640)
	os.WriteFile(base, []byte("output only\r\n"), 0o640)
	if m, ok, err := LastMark(dir, "r", connMark); err != nil || !ok || m.Event != "console up" {
		t.Fatalf("from r.log.2.gz: %+v, %v, %v", m, ok, err)
	}
	os.WriteFile(base+".1", append([]byte("x\n"), MarkLine("console down: gone", at.Add(time.Second), true)...), 0o640)
	if m, ok, _ := LastMark(dir, "r", connMark); !ok || m.Event != "console down: gone" || !m.MidLine {
		t.Fatalf("from r.log.1: %+v, %v", m, ok)
	}
}
