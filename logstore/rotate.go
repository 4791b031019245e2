package logstore

import (
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

func indexEntry(sec, off int64) []byte {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(sec))
	binary.LittleEndian.PutUint64(b[8:], uint64(off))
	return b[:]
}

// rotated is the path of rotated file k (before compression).
func (l *Log) rotated(k int) string { return l.path + "." + strconv.Itoa(k) }

// rotate shifts NAME.log.k(.gz) and its .idx to k+1, drops what is past
// Keep, moves the current file to NAME.log.1, compresses that in the
// background and starts an empty NAME.log. Called with mu held.
func (l *Log) rotate() error {
	l.gzip.Wait() // the previous rotation's compression must be done before shifting
	l.rotations++
	l.flush()
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("closing %s for rotation: %w", l.path, err)
	}
	l.idx.Close()
	l.f, l.idx = nil, nil
	if l.opts.Keep <= 0 {
		for _, p := range []string{l.path, l.path + ".idx"} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("rotating %s: %w", l.path, err)
			}
		}
		return l.open()
	}
	for _, suffix := range []string{".gz", "", ".idx"} {
		os.Remove(l.rotatedWith(l.opts.Keep, suffix))
	}
	for k := l.opts.Keep - 1; k >= 1; k-- {
		for _, suffix := range []string{".gz", "", ".idx"} {
			if err := os.Rename(l.rotatedWith(k, suffix), l.rotatedWith(k+1, suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("rotating %s: %w", l.path, err)
			}
		}
	}
	if err := os.Rename(l.path, l.rotated(1)); err != nil {
		return fmt.Errorf("rotating %s: %w", l.path, err)
	}
	os.Rename(l.path+".idx", l.rotatedWith(1, ".idx"))
	l.gzip.Add(1)
	go func(src string) {
		defer l.gzip.Done()
		if err := compress(src); err != nil {
			slog.Error("compressing rotated log", "path", src, "err", err)
		}
		l.opts.Budget.enforce(filepath.Dir(l.path))
	}(l.rotated(1))
	return l.open()
}

// rotatedWith names rotated file k with a suffix: "" (being compressed),
// ".gz" or ".idx". The index of NAME.log.k is NAME.log.k.idx either way.
func (l *Log) rotatedWith(k int, suffix string) string { return l.rotated(k) + suffix }

// compress writes src.gz and removes src.
func compress(src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := src + ".gz.tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := zw.Close(); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, src+".gz"); err != nil {
		return err
	}
	return os.Remove(src)
}

// Budget bounds the total size of a log directory (max_total): past it,
// the oldest rotated files of any console are removed. Current logs are
// never removed.
type Budget struct {
	MaxTotal int64
	mu       sync.Mutex
}

func (b *Budget) enforce(dir string) {
	if b == nil || b.MaxTotal <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type file struct {
		path string
		size int64
		mod  int64
	}
	var total int64
	var rotated []file
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		total += info.Size()
		if strings.HasSuffix(e.Name(), ".gz") {
			rotated = append(rotated, file{filepath.Join(dir, e.Name()), info.Size(), info.ModTime().UnixNano()})
		}
	}
	sort.Slice(rotated, func(i, j int) bool { return rotated[i].mod < rotated[j].mod })
	for _, f := range rotated {
		if total <= b.MaxTotal {
			return
		}
		idx := strings.TrimSuffix(f.path, ".gz") + ".idx"
		if os.Remove(f.path) == nil {
			total -= f.size
			if st, err := os.Stat(idx); err == nil {
				total -= st.Size()
			}
			os.Remove(idx)
			slog.Warn("log directory over max_total: removed the oldest rotated log", "path", f.path)
		}
	}
}
