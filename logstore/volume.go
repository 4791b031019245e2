package logstore

import (
	"fmt"
	"sort"
	"time"
)

// Volume is how many bytes console name in dir recorded in each of n equal
// spans of [from, to), read from the time index alone (marks count too):
// cheap enough for a picture of a day. A span holds the bytes of the
// seconds that start in it.
func Volume(dir, name string, from, to time.Time, n int) ([]int64, error) {
	if n <= 0 || !to.After(from) {
		return nil, fmt.Errorf("volume of %s: empty range", name)
	}
	rec, err := openRecord(dir, name)
	if err != nil {
		return nil, err
	}
	out := make([]int64, n)
	lo, hi := from.Unix(), to.Unix()
	width := hi - lo
	if width <= 0 {
		width = 1
	}
	for _, s := range rec.segs {
		if err := s.addVolume(out, lo, hi, width); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// addVolume adds the segment's bytes in [lo, hi) (Unix seconds) to out.
func (s *segment) addVolume(out []int64, lo, hi, width int64) error {
	x := s.index()
	if x == nil {
		return nil
	}
	defer x.close()
	entries := x.entries()
	k := int64(sort.Search(int(entries), func(i int) bool {
		sec, _, _ := x.entry(int64(i))
		return sec >= lo
	}))
	n := int64(len(out))
	for ; k < entries; k++ {
		sec, off, ok := x.entry(k)
		if !ok || sec >= hi {
			break
		}
		_, next, ok := x.entry(k + 1)
		if !ok { // the last second: up to the file's end
			sf, err := s.openFile()
			if err != nil {
				return err
			}
			next, err = sf.size()
			sf.f.Close()
			if err != nil {
				return fmt.Errorf("reading log size: %w", err)
			}
		}
		if next > off {
			out[(sec-lo)*n/width] += next - off
		}
	}
	return nil
}
