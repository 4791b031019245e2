package logstore

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// maxLine bounds what a reader holds of one line: a longer line is read,
// and shown, in pieces of this size.
const maxLine = 64 << 10

// Line is one line of a log: the bytes as recorded, and when its first and
// last byte arrived (to the second, from the time index).
type Line struct {
	First, Last time.Time
	Text        []byte // with its "\n"; none on a record's unfinished last line or a piece of a long line
}

// segFile is one segment opened for reading: a plain file read in place
// (ReadAt, so readers share nothing), or a gzip stream.
type segFile struct {
	f    *os.File
	gz   bool
	path string
}

func (s *segment) openFile() (*segFile, error) {
	k := s.locate()
	name := s.name(k)
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) && k > 0 {
		name += ".gz" // compressed since it was listed
		f, err = os.Open(name)
		if err == nil {
			return &segFile{f: f, gz: true, path: name}, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading log: %w", err)
	}
	return &segFile{f: f, path: name}, nil
}

// reader reads the segment from byte off.
func (sf *segFile) reader(off int64) (io.Reader, error) {
	if !sf.gz {
		return &fileAt{f: sf.f, off: off}, nil
	}
	zr, err := gzip.NewReader(sf.f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", sf.path, err)
	}
	if _, err := io.CopyN(io.Discard, zr, off); err != nil {
		return nil, fmt.Errorf("reading %s: %w", sf.path, err)
	}
	return zr, nil
}

// size is the segment's length in bytes (a gzip stream is read through).
func (sf *segFile) size() (int64, error) {
	if !sf.gz {
		st, err := sf.f.Stat()
		if err != nil {
			return 0, err
		}
		return st.Size(), nil
	}
	r, err := sf.reader(0)
	if err != nil {
		return 0, err
	}
	return io.Copy(io.Discard, r)
}

// fileAt reads a file from its own offset with ReadAt: a file that grows
// can be read again after io.EOF.
type fileAt struct {
	f   *os.File
	off int64
}

func (a *fileAt) Read(p []byte) (int, error) {
	n, err := a.f.ReadAt(p, a.off)
	a.off += int64(n)
	if n > 0 && err == io.EOF {
		err = nil
	}
	return n, err
}

// lineReader reads a record's lines forward from a position, through its
// files in order: a line cut by rotation comes back whole. It holds at most
// maxLine bytes of a line and one read buffer, whatever the log's size.
type lineReader struct {
	rec  *record
	at   pos  // the next unread byte
	keep bool // at the end, keep an unfinished line: it may still grow (follow)

	file *segFile // the segment at.seg, open
	src  io.Reader
	clk  clock
	buf  []byte
	r, w int

	line        []byte
	first, last time.Time
}

func newLineReader(rec *record, at pos, keep bool) *lineReader {
	return &lineReader{rec: rec, at: at, keep: keep, buf: make([]byte, 32<<10)}
}

// next returns the next line (valid until the following call), or io.EOF
// at the end of the record.
func (r *lineReader) next() (Line, error) {
	for {
		if r.r == r.w {
			if err := r.fill(); err != nil {
				if err == io.EOF && len(r.line) > 0 && !r.keep {
					return r.take(), nil
				}
				return Line{}, err
			}
		}
		if len(r.line) == 0 {
			r.first = r.clk.at(r.at.off)
		}
		chunk := r.buf[r.r:r.w]
		n, end := len(chunk), false
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			n, end = i+1, true
		}
		if room := maxLine - len(r.line); n >= room {
			n, end = room, true
		}
		r.line = append(r.line, chunk[:n]...)
		r.r += n
		r.at.off += int64(n)
		r.last = r.clk.at(r.at.off - 1)
		if end {
			return r.take(), nil
		}
	}
}

func (r *lineReader) take() Line {
	l := Line{First: r.first, Last: r.last, Text: r.line}
	r.line = r.line[:0]
	return l
}

// fill reads more of the current segment, going on to the next one at the
// end of each but the newest (which may still grow).
func (r *lineReader) fill() error {
	for {
		if r.src == nil {
			if r.at.seg >= len(r.rec.segs) {
				return io.EOF
			}
			if err := r.open(); err != nil {
				return err
			}
		}
		n, err := r.src.Read(r.buf)
		if n > 0 {
			r.r, r.w = 0, n
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading %s: %w", r.file.path, err)
		}
		if r.at.seg >= len(r.rec.segs)-1 {
			return io.EOF
		}
		r.closeFile()
		r.at = pos{r.at.seg + 1, 0}
	}
}

func (r *lineReader) open() error {
	seg := r.rec.segs[r.at.seg]
	f, err := seg.openFile()
	if err != nil {
		return err
	}
	src, err := f.reader(r.at.off)
	if err != nil {
		f.f.Close()
		return err
	}
	r.file, r.src = f, src
	r.clk = newClock(seg)
	r.clk.seek(r.at.off)
	return nil
}

func (r *lineReader) closeFile() {
	if r.file != nil {
		r.file.f.Close()
	}
	r.clk.x.close()
	r.file, r.src, r.clk = nil, nil, clock{}
}

func (r *lineReader) close() { r.closeFile() }
