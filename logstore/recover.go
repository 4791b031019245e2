package logstore

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Journal records. Each is
//
//	crc32 (IEEE, of what follows the length)  4 bytes, little-endian
//	length of what follows                    2 bytes
//	kind                                      1 byte: 'E' an entry, 'N' a new file
//	length of the console's name              1 byte
//	the name
//	the inode of the log file NAME.log        8 bytes
//	the entry (kind 'E')                      16 bytes, as in NAME.log.idx
//
// An 'N' record says that the file NAME.log was then renamed (rotated):
// the entries before it are not the next file's. A record cut short or
// damaged (power lost during a write) ends the journal.
const (
	kindEntry   = 'E'
	kindNewFile = 'N'
)

func appendRecord(b []byte, kind byte, name string, ino uint64, entry []byte) []byte {
	if len(name) > 255 {
		name = name[:255] // (console names have at most 64 bytes)
	}
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, kind, byte(len(name)))
	b = append(b, name...)
	b = binary.LittleEndian.AppendUint64(b, ino)
	b = append(b, entry...)
	binary.LittleEndian.PutUint16(b[start+4:], uint16(len(b)-start-6))
	binary.LittleEndian.PutUint32(b[start:], crc32.ChecksumIEEE(b[start+6:]))
	return b
}

func appendEntryRecord(b []byte, name string, ino uint64, entry []byte) []byte {
	return appendRecord(b, kindEntry, name, ino, entry)
}

// journaled is an entry read from a journal.
type journaled struct {
	ino, sec, off uint64
}

// parseJournal reads a journal's records: for each console, the entries
// of the file it had when the journal ended (those after its last 'N').
func parseJournal(data []byte) map[string][]journaled {
	out := map[string][]journaled{}
	for len(data) >= 6 {
		sum := binary.LittleEndian.Uint32(data)
		n := int(binary.LittleEndian.Uint16(data[4:]))
		if len(data) < 6+n || n < 2+8 || crc32.ChecksumIEEE(data[6:6+n]) != sum {
			break
		}
		rec := data[6 : 6+n]
		data = data[6+n:]
		kind, nameLen := rec[0], int(rec[1])
		if len(rec) < 2+nameLen+8 {
			break
		}
		name := string(rec[2 : 2+nameLen])
		ino := binary.LittleEndian.Uint64(rec[2+nameLen:])
		rest := rec[2+nameLen+8:]
		switch {
		case kind == kindNewFile:
			delete(out, name)
		case kind == kindEntry && len(rest) == entrySize:
			out[name] = append(out[name], journaled{ino,
				binary.LittleEndian.Uint64(rest), binary.LittleEndian.Uint64(rest[8:])})
		}
	}
	return out
}

// recoverFile merges the journal f (locked) into the indexes of dir, and
// empties it; it returns how many entries it added.
func recoverFile(dir string, f *os.File) (int, error) {
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return 0, err
	}
	if len(data) == 0 {
		return 0, nil
	}
	byName := parseJournal(data)
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)
	added := 0
	var errs []error
	for _, name := range names {
		n, err := mergeEntries(dir, name, byName[name])
		added += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return added, err // kept, to be merged by the next run
	}
	return added, f.Truncate(0)
}

// mergeEntries appends to NAME.log.idx the journaled entries that belong
// to NAME.log as it is (its inode) and are past what the index holds and
// within the file: merging twice adds nothing the second time.
func mergeEntries(dir, name string, ents []journaled) (int, error) {
	if name == "" || strings.ContainsRune(name, '/') || name == "." || name == ".." {
		return 0, nil
	}
	path := filepath.Join(dir, name+".log")
	st, err := os.Stat(path)
	if err != nil {
		return 0, nil // gone: nothing to index
	}
	ino := inodeOf(st)
	idxPath := path + ".idx"
	var have int64
	lastSec, lastOff := int64(-1<<62), int64(-1)
	if x, err := os.Open(idxPath); err == nil {
		if xs, err := x.Stat(); err == nil {
			have = xs.Size() - xs.Size()%entrySize
			lastSec, lastOff = lastEntry(x, have/entrySize)
		}
		x.Close()
	}
	add := entriesPast(ents, ino, st.Size(), lastSec, lastOff)
	if len(add) == 0 {
		return 0, nil
	}
	x, err := os.OpenFile(idxPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return 0, err
	}
	defer x.Close()
	if xs, err := x.Stat(); err == nil && xs.Size() != have {
		x.Truncate(have) // an entry cut short (a full disk) would shift every later one
	}
	if _, err := x.Write(add); err != nil {
		return 0, err
	}
	return len(add) / entrySize, nil
}

// recoverDir merges the journal of dir, when no process holds it (no
// consoled runs there): for `consoled logs -data DIR` on a directory left
// by a run that was killed. A journal that is held (a consoled runs
// there), or that cannot be merged (a copy that cannot be written), is
// read instead: it returns the entries it holds for console name.
func recoverDir(dir, name string) []journaled {
	path := filepath.Join(dir, JournalName)
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err == nil {
		defer f.Close()
		// A journal that the live run replaced after we opened it is not
		// the one it holds.
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			if st, err := os.Stat(path); err == nil && sameFile(f, st) {
				if _, err := recoverFile(dir, f); err == nil {
					return nil
				}
			}
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return parseJournal(data)[name]
}

// overlay is the index of the current log file base (its index file f,
// or nil) followed by the journaled entries that belong to it (its inode,
// within it, past the file's last entry): what a merge would make of it,
// read only. Nil when none belong.
func overlay(base string, f *os.File, ents []journaled) *index {
	st, err := os.Stat(base)
	if err != nil {
		return nil
	}
	ino := inodeOf(st)
	var n int64
	lastSec, lastOff := int64(-1<<62), int64(-1)
	if f != nil {
		if xs, err := f.Stat(); err == nil {
			n = xs.Size() / entrySize
		}
		lastSec, lastOff = lastEntry(f, n)
	}
	extra := entriesPast(ents, ino, st.Size(), lastSec, lastOff)
	if extra == nil {
		return nil
	}
	return &index{f: f, extra: extra, n: n}
}

// lastEntry is the second and offset of the last of an index file's n
// entries; with none (or unreadable), a second and an offset before any.
func lastEntry(x *os.File, n int64) (sec, off int64) {
	var b [entrySize]byte
	if n <= 0 {
		return -1 << 62, -1
	}
	if _, err := x.ReadAt(b[:], (n-1)*entrySize); err != nil {
		return -1 << 62, -1
	}
	return int64(binary.LittleEndian.Uint64(b[:])), int64(binary.LittleEndian.Uint64(b[8:]))
}

// entriesPast is the index entries of ents that belong to the file of
// inode ino and size size, past an index whose last entry is (lastSec,
// lastOff): what merging them adds. Nil when none do.
func entriesPast(ents []journaled, ino uint64, size, lastSec, lastOff int64) []byte {
	var add []byte
	for _, e := range ents {
		sec, off := int64(e.sec), int64(e.off)
		if e.ino != ino || off >= size || sec <= lastSec || off < lastOff {
			continue
		}
		add = append(add, indexEntry(sec, off)...)
		lastSec, lastOff = sec, off
	}
	return add
}

func sameFile(f *os.File, st os.FileInfo) bool {
	fs, err := f.Stat()
	return err == nil && os.SameFile(fs, st)
}

// inodeOf is a file's inode number (0 where there is none).
func inodeOf(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}
