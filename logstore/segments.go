package logstore

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A record is a console's log as readers see it: one stream of bytes
// through its files, oldest first (NAME.log.Keep(.gz) .. NAME.log.1(.gz),
// NAME.log), so a line that rotation cut in two is still one line.
type record struct {
	base string // DIR/NAME.log
	segs []*segment
}

// segment is one file of a record.
type segment struct {
	base string      // DIR/NAME.log
	k    int         // 0: the current file NAME.log; k: NAME.log.k(.gz)
	idx  os.FileInfo // its index when listed: follows the file through renames

	journaled []journaled // entries of NAME.log in a journal that could not be merged (read only)
}

// pos is a place in a record: byte off of segment seg.
type pos struct {
	seg int
	off int64
}

func (p pos) before(o pos) bool { return p.seg < o.seg || p.seg == o.seg && p.off < o.off }

// openRecord lists the files of console name in dir, its index entries
// still in the journal consolidated first.
func openRecord(dir, name string) (*record, error) {
	pending := syncIndex(dir, name)
	base := filepath.Join(dir, name+".log")
	matches, _ := filepath.Glob(base + ".*")
	seen := map[int]bool{}
	for _, m := range matches {
		num := strings.TrimSuffix(strings.TrimPrefix(m, base+"."), ".gz")
		if k, err := strconv.Atoi(num); err == nil && k >= 1 {
			seen[k] = true
		}
	}
	var order []int
	for k := range seen {
		order = append(order, k)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(order)))
	r := &record{base: base}
	for _, k := range order {
		r.segs = append(r.segs, newSegment(base, k))
	}
	if _, err := os.Stat(base); err == nil {
		s := newSegment(base, 0)
		s.journaled = pending
		r.segs = append(r.segs, s)
	}
	if len(r.segs) == 0 {
		return nil, fmt.Errorf("no log for console %q in %s", name, dir)
	}
	return r, nil
}

func newSegment(base string, k int) *segment {
	s := &segment{base: base, k: k}
	s.idx, _ = os.Stat(s.name(k) + ".idx")
	return s
}

func (s *segment) name(k int) string {
	if k == 0 {
		return s.base
	}
	return s.base + "." + strconv.Itoa(k)
}

// locate finds the segment's files now: rotation may have renamed them
// since they were listed (their index keeps its inode through renames).
func (s *segment) locate() (k int) {
	if s.idx == nil {
		return s.k
	}
	for k := s.k; k < s.k+1000; k++ {
		st, err := os.Stat(s.name(k) + ".idx")
		if err != nil {
			return s.k
		}
		if os.SameFile(st, s.idx) {
			return k
		}
	}
	return s.k
}

// index opens the segment's time index (nil if it has none), with the
// entries of a journal that could not be merged after its own.
func (s *segment) index() *index {
	k := s.locate()
	f, err := os.Open(s.name(k) + ".idx")
	if err != nil {
		f = nil
	}
	if len(s.journaled) > 0 && k == 0 {
		if x := overlay(s.base, f, s.journaled); x != nil {
			return x
		}
	}
	if f == nil {
		return nil
	}
	return &index{f: f}
}

// index is a log file's time index, read in place: an entry (Unix second,
// byte offset) for each second in which the console printed, 16 bytes each.
type index struct {
	f     *os.File // nil: extra only
	buf   []byte   // entries first .. first+len(buf)/16-1
	first int64

	// With entries from a journal (read only, see overlay), the index is
	// a snapshot: the file's first n entries, then extra.
	extra []byte
	n     int64
}

const entrySize = 16

func (x *index) close() {
	if x != nil && x.f != nil {
		x.f.Close()
	}
}

// entries is how many entries the index holds now.
func (x *index) entries() int64 {
	if x == nil {
		return 0
	}
	if x.extra != nil {
		return x.n + int64(len(x.extra)/entrySize)
	}
	st, err := x.f.Stat()
	if err != nil {
		return 0
	}
	return st.Size() / entrySize
}

// entry reads entry k; ok is false past the end.
func (x *index) entry(k int64) (sec, off int64, ok bool) {
	if x == nil || k < 0 {
		return 0, 0, false
	}
	if x.extra != nil && k >= x.n {
		b := x.extra[min((k-x.n)*entrySize, int64(len(x.extra))):]
		if len(b) < entrySize {
			return 0, 0, false
		}
		return int64(binary.LittleEndian.Uint64(b)), int64(binary.LittleEndian.Uint64(b[8:])), true
	}
	if x.f == nil {
		return 0, 0, false
	}
	if k < x.first || k >= x.first+int64(len(x.buf)/entrySize) {
		if x.buf == nil {
			x.buf = make([]byte, 256*entrySize)
		}
		n, _ := x.f.ReadAt(x.buf[:cap(x.buf)], k*entrySize)
		x.buf, x.first = x.buf[:n-n%entrySize], k
		if len(x.buf) == 0 {
			return 0, 0, false
		}
	}
	b := x.buf[(k-x.first)*entrySize:]
	return int64(binary.LittleEndian.Uint64(b)), int64(binary.LittleEndian.Uint64(b[8:])), true
}

// firstAtOrAfter is the offset of the first byte written at or after the
// Unix second sec; ok is false when the file holds none.
func (x *index) firstAtOrAfter(sec int64) (off int64, ok bool) {
	n := x.entries()
	k := int64(sort.Search(int(n), func(i int) bool {
		s, _, _ := x.entry(int64(i))
		return s >= sec
	}))
	if k == n {
		return 0, false
	}
	_, off, ok = x.entry(k)
	return off, ok
}

// clock tells the time of bytes of one segment, for offsets that only
// grow: the second of the last index entry at or before the byte (the
// first entry's for bytes before it; zero with no index).
type clock struct {
	x    *index
	k    int64 // current entry
	sec  int64
	have bool

	seg    *segment  // to consolidate its log's journaled entries (nil: never)
	synced int64     // bytes up to here were read before the last consolidation
	reread time.Time // when a journal held elsewhere may be read again (see sync)
}

func newClock(seg *segment) clock { return clock{x: seg.index(), seg: seg} }

func (c *clock) at(off int64) time.Time {
	if !c.have {
		sec, _, ok := c.x.entry(c.k)
		if !ok && c.sync(off) {
			sec, _, ok = c.x.entry(c.k)
		}
		if !ok {
			return time.Time{}
		}
		c.sec, c.have = sec, true
	}
	for {
		sec, o, ok := c.x.entry(c.k + 1)
		if !ok && c.sync(off) {
			sec, o, ok = c.x.entry(c.k + 1)
		}
		if !ok || o > off {
			break
		}
		c.k, c.sec = c.k+1, sec
	}
	return time.Unix(c.sec, 0).UTC()
}

// sync consolidates the log's journaled entries when the reader is past
// what the last consolidation covered (a follow, at the live end), so that
// the entry of a byte it has read is in the index; it reports whether it
// did. The byte at off was read, so written, so journaled before this.
// A journal that another process holds is read (the whole file) at most
// once a second.
func (c *clock) sync(off int64) bool {
	if c.seg == nil || off < c.synced || time.Now().Before(c.reread) {
		return false
	}
	c.synced = off + 1
	pending := syncIndex(filepath.Dir(c.seg.base), strings.TrimSuffix(filepath.Base(c.seg.base), ".log"))
	if pending != nil || c.seg.journaled != nil {
		// A snapshot of the index and the journal: take a new one. Its
		// first entries are the old one's (the journal's go to the index
		// file in order), so c.k stays.
		c.reread = time.Now().Add(time.Second)
		c.seg.journaled = pending
		c.x.close()
		c.x = c.seg.index()
	} else if c.x == nil {
		c.x = c.seg.index()
	}
	return c.x != nil
}

// seek positions the clock at the entry for off, by binary search.
func (c *clock) seek(off int64) {
	n := c.x.entries()
	k := int64(sort.Search(int(n), func(i int) bool {
		_, o, _ := c.x.entry(int64(i))
		return o > off
	}))
	c.k, c.have = max(k-1, 0), false
}

// Has reports whether dir holds a log of console name (current or rotated).
func Has(dir, name string) bool {
	base := filepath.Join(dir, name+".log")
	if _, err := os.Stat(base); err == nil {
		return true
	}
	m, _ := filepath.Glob(base + ".[0-9]*")
	return len(m) > 0
}
