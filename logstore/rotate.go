package logstore

import (
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
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
	l.consolidate()    // the entries of this file, into its index, before it is renamed
	l.journalNewFile() // and the journal says they are not the next file's
	err := l.f.Close()
	l.f, l.known = nil, false
	handles.closed(l)
	if err != nil {
		return fmt.Errorf("closing %s for rotation: %w", l.path, err)
	}
	if err := l.shift(); err != nil {
		return err
	}
	if l.opts.Keep > 0 {
		l.gzip.Add(1)
		go func(src string) {
			defer l.gzip.Done()
			if err := l.compress(src); err != nil {
				slog.Error("compressing rotated log", "path", src, "err", err)
			}
		}(l.rotated(1))
	}
	return l.open()
}

// shift renames the rotated files one up (removing the current file when
// none are kept), with the budget's lock held so that it never removes a
// file that is being renamed.
func (l *Log) shift() error {
	defer l.opts.Budget.renaming()()
	if l.opts.Keep <= 0 {
		for _, p := range []string{l.path, l.path + ".idx"} {
			if err := l.opts.Budget.removeLocked(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("rotating %s: %w", l.path, err)
			}
		}
		return nil
	}
	for _, suffix := range []string{".gz", "", ".idx"} {
		l.opts.Budget.removeLocked(l.rotatedWith(l.opts.Keep, suffix))
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
	return nil
}

// rotatedWith names rotated file k with a suffix: "" (being compressed),
// ".gz" or ".idx". The index of NAME.log.k is NAME.log.k.idx either way.
func (l *Log) rotatedWith(k int, suffix string) string { return l.rotated(k) + suffix }

// gzipComment is the gzip header comment of every rotated log consoled
// writes, followed by the console's name: max_total removes only files
// that carry it.
const gzipComment = "consoled log of console "

// compress writes src.gz (its header saying consoled wrote it) and removes
// src; what it writes is charged to the budget as it is written.
func (l *Log) compress(src string) error {
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
	zw := gzip.NewWriter(&charged{l: l, w: out})
	zw.Comment = gzipComment + l.name
	_, err = io.Copy(zw, in)
	if err == nil {
		err = zw.Close()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		l.opts.Budget.remove(tmp)
		return err
	}
	unlock := l.opts.Budget.renaming()
	err = os.Rename(tmp, src+".gz")
	unlock()
	if err != nil {
		return err
	}
	return l.opts.Budget.remove(src)
}

// charged is a writer whose writes are charged to the log's budget first.
type charged struct {
	l *Log
	w io.Writer
}

func (c *charged) Write(p []byte) (int, error) {
	charged := c.l.opts.Budget.charge(c.l, int64(len(p)))
	n, err := c.w.Write(p)
	c.l.opts.Budget.wrote(charged, int64(n))
	return n, err
}
