package logstore

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// segment is one file of a console's log, oldest first in Segments.
type segment struct {
	path  string // NAME.log, NAME.log.K or NAME.log.K.gz
	index []indexRec
	file  *os.File // if set, path already open (follow holds it across a rotation)
}

type indexRec struct{ sec, off int64 }

// Segments lists a console's log files in order, oldest first, with their
// time indexes.
func Segments(dir, name string) ([]segment, error) {
	base := filepath.Join(dir, name+".log")
	matches, _ := filepath.Glob(base + ".*")
	ks := map[int]string{}
	for _, m := range matches {
		rest := strings.TrimPrefix(m, base+".")
		num := strings.TrimSuffix(rest, ".gz")
		k, err := strconv.Atoi(num)
		if err != nil || k < 1 {
			continue
		}
		if prev, ok := ks[k]; !ok || strings.HasSuffix(prev, ".gz") {
			ks[k] = m // prefer the uncompressed file while its .gz is being written
		}
	}
	var order []int
	for k := range ks {
		order = append(order, k)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(order)))
	var segs []segment
	for _, k := range order {
		segs = append(segs, segment{path: ks[k], index: readIndex(base + "." + strconv.Itoa(k) + ".idx")})
	}
	if _, err := os.Stat(base); err == nil {
		segs = append(segs, segment{path: base, index: readIndex(base + ".idx")})
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("no log for console %q in %s", name, dir)
	}
	return segs, nil
}

func readIndex(path string) []indexRec {
	b, _ := os.ReadFile(path)
	recs := make([]indexRec, 0, len(b)/16)
	for i := 0; i+16 <= len(b); i += 16 {
		recs = append(recs, indexRec{int64(binary.LittleEndian.Uint64(b[i:])), int64(binary.LittleEndian.Uint64(b[i+8:]))})
	}
	return recs
}

// timeAt is the time of the byte at off: that of the last index entry at
// or before it.
func (s *segment) timeAt(off int64) time.Time {
	i := sort.Search(len(s.index), func(i int) bool { return s.index[i].off > off })
	if i == 0 {
		if len(s.index) > 0 {
			return time.Unix(s.index[0].sec, 0).UTC()
		}
		return time.Time{}
	}
	return time.Unix(s.index[i-1].sec, 0).UTC()
}

// offsetAt is where output from time t onwards starts (0 if unknown).
func (s *segment) offsetAt(t time.Time) int64 {
	i := sort.Search(len(s.index), func(i int) bool { return s.index[i].sec >= t.Unix() })
	if i == 0 || len(s.index) == 0 {
		return 0
	}
	if i == len(s.index) {
		return s.index[len(s.index)-1].off
	}
	return s.index[i].off
}

// span is the first and last time the segment's index knows.
func (s *segment) span() (time.Time, time.Time, bool) {
	if len(s.index) == 0 {
		return time.Time{}, time.Time{}, false
	}
	return time.Unix(s.index[0].sec, 0), time.Unix(s.index[len(s.index)-1].sec, 0), true
}

// Query selects and formats log lines.
type Query struct {
	Since, Until time.Time      // zero: unbounded
	Grep         *regexp.Regexp // nil: every line
	Context      int            // lines around each match
	Tail         int            // only the last N lines (0: all)
	Timestamps   bool           // prefix each line with its time
	Raw          bool           // bytes as recorded; otherwise control characters made visible and CRLF normalized
	Follow       bool           // keep printing new lines until ctx ends
	Poll         time.Duration  // follow's poll interval; 250 ms when zero
}

// Line is one line of a log with its time.
type Line struct {
	Time time.Time
	Text []byte // without the trailing newline
}

// Run prints the lines of console name in dir that q selects to w.
func (q *Query) Run(ctx context.Context, dir, name string, w io.Writer) error {
	segs, err := Segments(dir, name)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	out := q.newFilter(bw)
	var tailOff int64
	for i := range segs {
		seg := &segs[i]
		if first, last, ok := seg.span(); ok && (!q.Since.IsZero() && last.Add(time.Second).Before(q.Since) || !q.Until.IsZero() && first.After(q.Until)) {
			if i < len(segs)-1 {
				continue // entirely outside the range: not even opened
			}
		}
		off, err := q.scan(ctx, seg, 0, out)
		if err != nil {
			return err
		}
		tailOff = off
	}
	out.finish()
	if !q.Follow {
		return nil
	}
	bw.Flush()
	return q.follow(ctx, dir, name, tailOff, out, bw)
}

// scan feeds the lines of a segment, from byte from, to the filter; it
// returns the offset after the last complete line.
func (q *Query) scan(ctx context.Context, seg *segment, from int64, f *filter) (int64, error) {
	file := seg.file
	if file == nil {
		var err error
		if file, err = os.Open(seg.path); err != nil {
			return from, err
		}
		defer file.Close()
	}
	var r io.Reader = file
	start := from
	if strings.HasSuffix(seg.path, ".gz") {
		zr, err := gzip.NewReader(file)
		if err != nil {
			return from, fmt.Errorf("reading %s: %w", seg.path, err)
		}
		r = zr
		if _, err := io.CopyN(io.Discard, zr, from); err != nil {
			return from, nil
		}
	} else {
		if from == 0 && !q.Since.IsZero() {
			start = seg.offsetAt(q.Since)
			// back up to the start of that line
			start = lineStart(file, start)
		}
		if _, err := file.Seek(start, io.SeekStart); err != nil {
			return from, err
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	off := start
	for {
		if ctx.Err() != nil {
			return off, ctx.Err()
		}
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// an endless line: pass it on in pieces
			f.line(Line{Time: seg.timeAt(off), Text: line})
			off += int64(len(line))
			continue
		}
		if err != nil {
			// an unfinished last line: shown, but not consumed (follow
			// re-reads it when it is complete)
			if len(line) > 0 && !q.Follow {
				f.line(Line{Time: seg.timeAt(off), Text: line})
			}
			return off, nil
		}
		f.line(Line{Time: seg.timeAt(off), Text: bytes.TrimRight(line[:len(line)-1], "\r")})
		off += int64(len(line))
	}
}

// lineStart returns the offset of the start of the line containing off.
func lineStart(f *os.File, off int64) int64 {
	if off <= 0 {
		return 0
	}
	from := max(0, off-4096)
	buf := make([]byte, off-from)
	if _, err := f.ReadAt(buf, from); err != nil {
		return off
	}
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		return from + int64(i) + 1
	}
	return from
}

// follow prints lines appended to the current file, across rotations. It
// holds the file open, so that when the log rotates it still reads what was
// written to the old file since the last poll before going on to the new one.
func (q *Query) follow(ctx context.Context, dir, name string, off int64, f *filter, bw *bufio.Writer) error {
	poll := q.Poll
	if poll == 0 {
		poll = 250 * time.Millisecond
	}
	path := filepath.Join(dir, name+".log")
	fq := *q
	fq.Since = time.Time{}
	seg := &segment{path: path}
	defer func() {
		if seg.file != nil {
			seg.file.Close()
		}
	}()
	if file, err := os.Open(path); err == nil {
		seg.file = file
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now, err := os.Stat(path)
		if err != nil {
			continue
		}
		if seg.file != nil {
			held, err := seg.file.Stat()
			if err == nil && !os.SameFile(held, now) {
				// Rotated: the rest of the old file first, then the new one.
				if _, err := fq.scan(ctx, seg, off, f); err != nil {
					return nil
				}
				seg.file.Close()
				seg.file, off = nil, 0
			} else if now.Size() < off {
				off = 0 // truncated under us
			}
		}
		if seg.file == nil {
			if seg.file, err = os.Open(path); err != nil {
				continue
			}
		}
		if now.Size() == off {
			continue
		}
		seg.index = readIndex(path + ".idx")
		if off, err = fq.scan(ctx, seg, off, f); err != nil {
			return nil
		}
		bw.Flush()
	}
}

// filter applies time range, grep with context and tail, then formats.
type filter struct {
	q       *Query
	w       io.Writer
	before  []Line // context ring before a match
	after   int    // lines still to print after a match
	printed bool   // something printed since the last gap
	gap     bool   // lines were skipped since the last printed one
	tail    []Line
	done    bool // tail printed (follow goes on printing directly)
}

func (q *Query) newFilter(w io.Writer) *filter { return &filter{q: q, w: w} }

func (f *filter) line(l Line) {
	q := f.q
	if !q.Since.IsZero() && l.Time.Before(q.Since.Truncate(time.Second)) {
		return
	}
	if !q.Until.IsZero() && l.Time.After(q.Until) {
		return
	}
	l.Text = append([]byte(nil), l.Text...)
	if q.Grep == nil {
		f.emit(l)
		return
	}
	switch {
	case q.Grep.Match(l.Text):
		if f.gap && f.printed && q.Context > 0 {
			f.emitRaw([]byte("--\n"))
		}
		for _, b := range f.before {
			f.emit(b)
		}
		f.before = f.before[:0]
		f.emit(l)
		f.after = q.Context
		f.gap = false
	case f.after > 0:
		f.emit(l)
		f.after--
	default:
		if q.Context > 0 {
			if len(f.before) == q.Context {
				f.before = f.before[1:]
				f.gap = true
			}
			f.before = append(f.before, l)
		} else {
			f.gap = true
		}
	}
}

func (f *filter) emit(l Line) {
	if f.q.Tail > 0 && !f.done {
		f.tail = append(f.tail, l)
		if len(f.tail) > f.q.Tail {
			f.tail = f.tail[1:]
		}
		return
	}
	f.printed = true
	if f.q.Timestamps {
		fmt.Fprintf(f.w, "%s ", l.Time.Format(time.RFC3339))
	}
	if f.q.Raw {
		f.w.Write(l.Text)
	} else {
		f.w.Write(Visible(l.Text))
	}
	f.w.Write([]byte{'\n'})
}

func (f *filter) emitRaw(b []byte) {
	if f.q.Tail == 0 || f.done {
		f.w.Write(b)
	}
}

// finish prints what tail held back.
func (f *filter) finish() {
	f.done = true
	for _, l := range f.tail {
		f.emit(l)
	}
	f.tail = nil
}

// Visible makes bytes safe for a terminal: control characters other than
// tab become ^X, DEL ^?, a bare CR is dropped, bytes >= 0x80 that are not
// valid UTF-8 become \xNN.
func Visible(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '\t':
			out = append(out, c)
		case c == '\r':
		case c < 0x20:
			out = append(out, '^', c+'@')
		case c == 0x7f:
			out = append(out, '^', '?')
		case c < 0x80:
			out = append(out, c)
		default:
			r, size := decodeRune(b[i:])
			if r < 0 {
				out = fmt.Appendf(out, "\\x%02x", c)
				i++
				continue
			}
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		i++
	}
	return out
}

func decodeRune(b []byte) (rune, int) {
	r, size := utf8.DecodeRune(b)
	if r == utf8.RuneError && size <= 1 {
		return -1, 1
	}
	return r, size
}
