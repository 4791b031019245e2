package logstore

import (
	"bufio"
	"bytes"
	"io"
	"os"
)

// LastMark finds the last mark in console name's log in dir for which
// match is true: it reads the record backwards from its end, the current
// file from its end first, then the rotated files, newest first, and stops
// at the first file that has one. ok is false when no mark matches or the
// console has no log yet. It is for deciding, at start, how the previous
// run of consoled left a console (see mux's marks): it reads what is on
// disk, so call it before the console's log is written to.
func LastMark(dir, name string, match func(Mark) bool) (m Mark, ok bool, err error) {
	rec, err := openRecord(dir, name)
	if err != nil {
		return Mark{}, false, nil // no log: no previous run to ask about
	}
	for i := len(rec.segs) - 1; i >= 0; i-- {
		sf, err := rec.segs[i].openFile()
		if err != nil {
			return Mark{}, false, err
		}
		if sf.gz {
			m, ok, err = lastMarkForward(sf, match)
		} else {
			m, ok, err = lastMarkBackward(sf.f, match)
		}
		sf.f.Close()
		if err != nil || ok {
			return m, ok, err
		}
	}
	return Mark{}, false, nil
}

// lastMarkBackward reads a plain file from its end in chunks, line by line,
// until a line is a mark that matches. A line longer than maxLine is no
// mark: it is skipped without being held.
func lastMarkBackward(f *os.File, match func(Mark) bool) (Mark, bool, error) {
	st, err := f.Stat()
	if err != nil {
		return Mark{}, false, err
	}
	const chunk = 64 << 10
	var carry []byte // the end of a line whose start is not read yet
	long := false    // carry was dropped: its line is longer than maxLine
	for off := st.Size(); off > 0; {
		n := min(int64(chunk), off)
		off -= n
		data := make([]byte, n, n+int64(len(carry)))
		if _, err := f.ReadAt(data, off); err != nil && err != io.EOF {
			return Mark{}, false, err
		}
		data = append(data, carry...)
		carry = nil
		// The lines of data from its end: each ends with its "\n" (but
		// the file's unfinished last line) and starts after the previous
		// "\n", or at the file's start.
		for end := len(data); end > 0; {
			i := bytes.LastIndexByte(data[:end-1], '\n')
			if i < 0 && off > 0 {
				carry = data[:end]
				break
			}
			if line := data[i+1 : end]; !long {
				if m, ok := ParseMark(line); ok && match(m) {
					return m, true, nil
				}
			}
			long, end = false, i+1
		}
		if len(carry) > maxLine {
			carry, long = nil, true
		}
	}
	return Mark{}, false, nil
}

// lastMarkForward reads a compressed file through, keeping the last mark
// that matches.
func lastMarkForward(sf *segFile, match func(Mark) bool) (m Mark, ok bool, err error) {
	r, err := sf.reader(0)
	if err != nil {
		return Mark{}, false, err
	}
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 && err != bufio.ErrBufferFull {
			if mk, is := ParseMark(line); is && match(mk) {
				m, ok = mk, true
			}
		}
		for err == bufio.ErrBufferFull { // a long line: no mark
			_, err = br.ReadSlice('\n')
		}
		if err == io.EOF {
			return m, ok, nil
		}
		if err != nil {
			return Mark{}, false, err
		}
	}
}
