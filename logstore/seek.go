package logstore

import (
	"bytes"
	"io"
	"time"
)

// end is the position after the record's last byte.
func (rec *record) end() pos {
	last := len(rec.segs) - 1
	f, err := rec.segs[last].openFile()
	if err != nil {
		return pos{last, 0}
	}
	defer f.f.Close()
	size, _ := f.size()
	return pos{last, size}
}

// firstAt is the first byte that arrived at or after t (to the second),
// found in the time indexes; ok is false when none did.
func (rec *record) firstAt(t time.Time) (p pos, ok bool) {
	sec := t.Unix()
	for i, seg := range rec.segs {
		x := seg.index()
		if x == nil {
			continue
		}
		lastSec, _, has := x.entry(x.entries() - 1)
		if !has || lastSec < sec {
			x.close()
			continue
		}
		off, found := x.firstAtOrAfter(sec)
		x.close()
		if found {
			return pos{i, off}, true
		}
	}
	return pos{}, false
}

// readRange reads bytes [from, to) of segment i.
func (rec *record) readRange(i int, from, to int64) ([]byte, error) {
	f, err := rec.segs[i].openFile()
	if err != nil {
		return nil, err
	}
	defer f.f.Close()
	r, err := f.reader(from)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, to-from)
	n, err := io.ReadFull(r, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return buf[:n], err
}

// lineStart is the start of the line holding the byte at p, looking back
// through earlier files when rotation cut the line, at most maxLine bytes
// (a longer line is read in pieces anyway).
func (rec *record) lineStart(p pos) pos {
	budget := int64(maxLine)
	for {
		from := max(0, p.off-budget)
		buf, err := rec.readRange(p.seg, from, p.off)
		if err != nil {
			return p
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return pos{p.seg, from + int64(i) + 1}
		}
		budget -= p.off - from
		if from > 0 || budget <= 0 || p.seg == 0 {
			return pos{p.seg, from}
		}
		f, err := rec.segs[p.seg-1].openFile()
		if err != nil {
			return pos{p.seg, 0}
		}
		size, err := f.size()
		f.f.Close()
		if err != nil {
			return pos{p.seg, 0}
		}
		p = pos{p.seg - 1, size}
	}
}

// tailStart is the start of the n-th line from the end of the record,
// found by reading backwards (a compressed file, which cannot be, is read
// forwards twice); memory does not grow with n or with the log.
func (rec *record) tailStart(n int) pos {
	need := int64(n)
	final := true // the record's last byte: a "\n" there ends a line, it does not start one
	for i := len(rec.segs) - 1; i >= 0; i-- {
		f, err := rec.segs[i].openFile()
		if err != nil {
			return pos{i + 1, 0}
		}
		var off int64
		var found bool
		if f.gz {
			off, found = f.nthNewlineBack(&need, &final)
		} else {
			off, found = f.newlineBack(&need, &final)
		}
		f.f.Close()
		if found {
			return pos{i, off}
		}
	}
	return pos{0, 0}
}

// newlineBack reads a plain file backwards for the need-th "\n" from its
// end; it returns the offset after it, or counts down need.
func (sf *segFile) newlineBack(need *int64, final *bool) (int64, bool) {
	size, err := sf.size()
	if err != nil {
		return 0, false
	}
	buf := make([]byte, 32<<10)
	for end := size; end > 0; {
		from := max(0, end-int64(len(buf)))
		b := buf[:end-from]
		if _, err := sf.f.ReadAt(b, from); err != nil && err != io.EOF {
			return 0, false
		}
		for j := len(b) - 1; j >= 0; j-- {
			if b[j] != '\n' {
				*final = false
				continue
			}
			if *final {
				*final = false
				continue
			}
			if *need--; *need == 0 {
				return from + int64(j) + 1, true
			}
		}
		end = from
	}
	return 0, false
}

// nthNewlineBack is newlineBack for a compressed file: one pass counts
// its lines, a second finds the offset.
func (sf *segFile) nthNewlineBack(need *int64, final *bool) (int64, bool) {
	r, err := sf.reader(0)
	if err != nil {
		return 0, false
	}
	var count, size int64
	var lastByte byte
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		count += int64(bytes.Count(buf[:n], []byte{'\n'}))
		size += int64(n)
		if n > 0 {
			lastByte = buf[n-1]
		}
		if err != nil {
			break
		}
	}
	if size == 0 {
		return 0, false
	}
	if *final && lastByte == '\n' {
		count--
	}
	*final = false
	if count < *need {
		*need -= count
		return 0, false
	}
	target := count - *need + 1 // the target-th "\n" from the start
	if _, err := sf.f.Seek(0, io.SeekStart); err != nil {
		return 0, false
	}
	if r, err = sf.reader(0); err != nil {
		return 0, false
	}
	var off int64
	for {
		n, err := r.Read(buf)
		b := buf[:n]
		for {
			j := bytes.IndexByte(b, '\n')
			if j < 0 {
				break
			}
			if target--; target == 0 {
				return off + int64(n-len(b)+j) + 1, true
			}
			b = b[j+1:]
		}
		off += int64(n)
		if err != nil {
			return 0, false
		}
	}
}
