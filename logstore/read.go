package logstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"time"
	"unicode/utf8"
)

// Query selects and formats log lines. A line belongs to a time range if
// any of its bytes arrived in it: a prompt printed at 01:37 and the reply
// that ended its line at 01:38 is found by a range around either. The
// range is found in the time index; only what it covers is read.
type Query struct {
	Since, Until time.Time      // zero: unbounded (to the second)
	Grep         *regexp.Regexp // nil: every line
	Context      int            // lines around each match (any number: read twice, not held)
	Tail         int            // only the last N lines (0: all)
	Timestamps   bool           // prefix each line with when it arrived (first..last byte when they differ)
	Raw          bool           // the bytes as recorded; otherwise control characters made visible and CRLF normalized
	Follow       bool           // keep printing new lines until ctx ends
	Poll         time.Duration  // follow's poll interval; 250 ms when zero
	// Finish, when closed, ends a follow at the end of the record: the
	// console stopped for good (removed), so nothing more will come.
	Finish <-chan struct{}
}

// Run prints the lines of console name in dir that q selects to w. Memory
// does not grow with the log, Tail or Context: lines are streamed, a tail
// is found by reading backwards (or, with --grep or --until, by counting
// in a first pass), and context lines are read again rather than kept.
func (q *Query) Run(ctx context.Context, dir, name string, w io.Writer) error {
	rec, err := openRecord(dir, name)
	if err != nil {
		return err
	}
	start := pos{}
	if !q.Since.IsZero() {
		p, ok := rec.firstAt(q.Since)
		if !ok {
			p = rec.end() // nothing since: only a line still being printed can be
		}
		start = rec.lineStart(p)
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	defer bw.Flush()
	out := &printer{q: q, w: bw}
	if q.Tail > 0 {
		if q.Grep == nil && q.Until.IsZero() {
			if t := rec.tailStart(q.Tail); start.before(t) {
				start = t
			}
		} else {
			count := &printer{q: q, dry: true}
			if err := q.pass(ctx, rec, start, count, false); err != nil {
				return err
			}
			out.skip = count.lines - int64(q.Tail)
		}
	}
	return q.pass(ctx, rec, start, out, q.Follow)
}

// pass reads the record from start and prints what q selects. With
// context, a second reader trails the first by Context lines and prints
// the lines before a match when one comes.
func (q *Query) pass(ctx context.Context, rec *record, start pos, out *printer, follow bool) error {
	lead := newLineReader(rec, start, follow)
	defer lead.close()
	var lag *lineReader
	if q.Grep != nil && q.Context > 0 {
		lag = newLineReader(rec, start, follow)
		defer lag.close()
	}
	var src, lagSrc lineSource = lead, lag
	if !q.Raw { // the machine's lines, whole around the marks consoled wrote mid-line
		src = newMachineLines(lead)
		if lag != nil {
			lagSrc = newMachineLines(lag)
		}
	}
	fo := &follower{rec: rec, poll: q.Poll}
	if fo.poll == 0 {
		fo.poll = 250 * time.Millisecond
	}
	var leadNo, lagNo, through int64 // lines read by each; printed up to
	after := 0                       // context lines still to print after a match
	drained := false                 // Finish was seen and a rotation since looked for
	for {
		if ctx.Err() != nil {
			return nil
		}
		l, err := src.next()
		if follow && (err == io.EOF || errors.Is(err, fs.ErrNotExist)) {
			out.flush()
			switch {
			case drained:
				return nil // the end of the record of a console that stopped for good
			case closed(q.Finish):
				drained = true
				fo.grow(lead)
			case !fo.wait(ctx, lead, q.Finish):
				return nil
			}
			continue
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if !q.Until.IsZero() && l.First.Unix() > q.Until.Unix() {
			return nil // this line and every later one began after the range
		}
		leadNo++
		inRange := q.Since.IsZero() || l.Last.Unix() >= q.Since.Unix()
		hit := inRange && (q.Grep == nil || q.Grep.Match(trimEOL(l.Text)))
		switch {
		case hit || inRange && after > 0:
			sep := q.Context > 0 && through > 0
			if lag == nil {
				out.line(l, sep && leadNo > through+1)
			} else {
				for lagNo < leadNo {
					ll, err := lagSrc.next()
					if err != nil {
						return err
					}
					if lagNo++; lagNo > through {
						out.line(ll, sep && lagNo > through+1)
						sep = false
					}
				}
			}
			through = leadNo
			if hit {
				after = q.Context
			} else {
				after--
			}
		case lag != nil:
			for lagNo < leadNo-int64(q.Context) {
				if _, err := lagSrc.next(); err != nil {
					return err
				}
				lagNo++
			}
		}
	}
}

// trimEOL is a line's text without its "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// printer formats selected lines.
type printer struct {
	q     *Query
	w     *bufio.Writer
	dry   bool  // only count
	skip  int64 // lines to leave out first (a tail's second pass)
	lines int64 // lines selected so far
	vis   []byte
}

func (p *printer) line(l Line, sep bool) {
	p.lines++
	if p.dry || p.lines <= p.skip {
		return
	}
	if sep && p.lines > p.skip+1 {
		p.w.WriteString("--\n")
	}
	if p.q.Timestamps {
		p.w.WriteString(stamp(l.First, l.Last))
		p.w.WriteByte(' ')
	}
	if !p.q.Raw {
		p.vis = append(AppendVisible(p.vis[:0], trimEOL(l.Text)), '\n')
		p.w.Write(p.vis)
		return
	}
	p.w.Write(l.Text)
	if (p.q.Timestamps || p.q.Grep != nil) && (len(l.Text) == 0 || l.Text[len(l.Text)-1] != '\n') {
		p.w.WriteByte('\n') // picked-out lines each end, even one the record has not ended yet
	}
}

func (p *printer) flush() {
	if p.w != nil {
		p.w.Flush()
	}
}

// stamp is when a line arrived: its last byte's time, preceded by its
// first byte's ("2026-11-23T01:37:45Z..01:38:31Z") when they differ.
func stamp(first, last time.Time) string {
	l := last.Format(time.RFC3339)
	if first.Equal(last) {
		return l
	}
	if first.YearDay() == last.YearDay() && first.Year() == last.Year() {
		return first.Format(time.RFC3339) + ".." + last.Format("15:04:05Z07:00")
	}
	return first.Format(time.RFC3339) + ".." + l
}

// Visible makes bytes safe for a terminal: control characters other than
// tab become ^X, DEL ^?, a bare CR is dropped, bytes >= 0x80 that are not
// valid UTF-8 become \xNN.
func Visible(b []byte) []byte { return AppendVisible(make([]byte, 0, len(b)), b) }

// AppendVisible appends Visible(b) to out.
func AppendVisible(out, b []byte) []byte {
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
