package logstore

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The index journal of a log directory (see the package doc, "Time
// index"): the flusher appends every log's new index entries to it in one
// write per pass; each log's entries go into its own NAME.log.idx later,
// in a consolidation (consolidateEvery, idle close, rotation, Close, or a
// reader asking).

// JournalName is the index journal's file name in a log directory. It
// starts with a dot: no console's log files (NAME.log*) can be named so.
const JournalName = ".consoled-index.journal"

// consolidateEvery is how often every log's journaled entries are moved
// into its index, after which the journal is emptied.
const consolidateEvery = 30 * time.Second

// journal is the index journal of one directory, shared by its logs.
type journal struct {
	dir, path string

	sweepMu sync.Mutex // one sweep at a time: each empties what the ones before consolidated

	mu       sync.Mutex
	f        *os.File          // open and locked (flock) while names holds a log
	size     int64             // bytes in the file
	buf      []byte            // records not written yet
	dirty    []*Log            // logs whose entries are not all consolidated (each once: Log.jdirty)
	names    map[string][]*Log // the attached logs by console name (no empty list)
	queued   bool              // on the flusher's list
	next     time.Time
	sweeping bool
	warned   bool // a failed write was logged

	budget    *Budget // the logs' max_total (they share one), charged for the journal
	budgetDir string  // the directory as the logs name it (the budget's key)
}

// journals are the live journals of this process, by absolute directory.
var journals = struct {
	sync.Mutex
	m map[string]*journal
}{m: map[string]*journal{}}

func journalKey(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return filepath.Clean(dir)
}

// attachJournal registers l with its directory's journal, opening it (and
// merging what a run that died left in it) if l is the first log there.
// A directory whose journal cannot be had (another consoled holds it)
// gets none: its logs write their index directly, as before journals.
func attachJournal(l *Log, dir string) {
	key := journalKey(dir)
	journals.Lock()
	defer journals.Unlock()
	j := journals.m[key]
	if j == nil {
		f, err := lockJournal(filepath.Join(key, JournalName), 5*time.Second)
		if err != nil {
			slog.Warn("console logs: no index journal, each log writes its own index", "dir", key, "err", err)
			return
		}
		os.Remove(f.Name() + ".tmp") // a replacement (sweep) that a killed run left half made
		j = &journal{dir: key, path: f.Name(), f: f, names: map[string][]*Log{}, next: time.Now().Add(consolidateEvery)}
		n, err := recoverFile(key, f)
		if st, serr := f.Stat(); serr == nil {
			j.size = st.Size() // what could not be merged goes with the next consolidation
		}
		if err != nil {
			slog.Error("console logs: merging the index journal a previous run left", "path", j.path, "err", err)
		} else if n > 0 {
			slog.Info("console logs: merged the index entries a previous run left in its journal", "path", j.path, "entries", n)
		}
		journals.m[key] = j
	}
	j.mu.Lock()
	if j.budget == nil && l.opts.Budget != nil {
		j.budget, j.budgetDir = l.opts.Budget, filepath.Dir(l.path)
	}
	j.names[l.name] = append(j.names[l.name], l)
	j.mu.Unlock()
	l.jr = j
}

// lockJournal opens and locks (flock) the journal at path, waiting up to
// wait for another process (an offline `consoled logs` merging it).
func lockJournal(path string, wait time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if err != unix.EWOULDBLOCK || time.Now().After(deadline) {
			f.Close()
			return nil, err
		}
	}
}

// detachJournal unregisters l (Close; its entries are consolidated). The
// last log of a directory to go consolidates every log and closes the
// journal. Called without l.mu.
func (l *Log) detachJournal() {
	j := l.jr
	if j == nil {
		return
	}
	journals.Lock()
	defer journals.Unlock()
	j.mu.Lock()
	list := j.names[l.name]
	for i, o := range list {
		if o == l {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(j.names, l.name)
	} else {
		j.names[l.name] = list
	}
	last := len(j.names) == 0
	j.mu.Unlock()
	if !last {
		return
	}
	j.sweep()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.size == 0 && len(j.buf) == 0 {
		os.Remove(j.path)
	}
	j.f.Close()
	j.f = nil
	delete(journals.m, j.dir)
}

// journalEntries hands l's new index entries (those of bytes just
// written) to the journal; called with l.mu held. Without a journal they
// are written to the index at once.
func (l *Log) journalEntries() {
	j := l.jr
	if j != nil {
		j.mu.Lock()
		if j.f != nil {
			for b := l.pendIdx; len(b) >= entrySize; b = b[entrySize:] {
				j.buf = appendEntryRecord(j.buf, l.name, l.ino, b[:entrySize])
			}
			l.jidx = append(l.jidx, l.pendIdx...)
			if !l.jdirty {
				l.jdirty = true
				j.dirty = append(j.dirty, l)
			}
			queue := !j.queued
			j.queued = true
			j.mu.Unlock()
			if queue {
				flusher.addJournal(j)
			}
			if l.idxNow {
				l.idxNow = false
				l.consolidate()
			}
			return
		}
		j.mu.Unlock()
	}
	l.writeIndex(l.pendIdx)
}

// journalNewFile tells the journal that l's current file is about to be
// renamed (rotation): entries journaled before are not the next file's.
// The record is written at once, before the rename. Called with l.mu held
// and l's entries consolidated.
func (l *Log) journalNewFile() {
	j := l.jr
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return
	}
	j.buf = appendRecord(j.buf, kindNewFile, l.name, l.ino, nil)
	j.writeLocked()
}

// consolidate writes the entries l has journaled into its index; called
// with l.mu held.
func (l *Log) consolidate() {
	if len(l.jidx) == 0 {
		return
	}
	l.writeIndex(l.jidx)
	if cap(l.jidx) > 64*entrySize {
		l.jidx = nil
	} else {
		l.jidx = l.jidx[:0]
	}
}

// write writes the buffered records (a flusher pass), and starts a
// consolidation when one is due.
func (j *journal) write() {
	j.mu.Lock()
	j.queued = false
	j.writeLocked()
	due := !j.sweeping && j.f != nil && time.Now().After(j.next)
	if due {
		j.sweeping = true
	}
	j.mu.Unlock()
	if due {
		go func() {
			j.sweep()
			j.mu.Lock()
			j.sweeping, j.next = false, time.Now().Add(consolidateEvery)
			j.mu.Unlock()
		}()
	}
}

// writeLocked writes buf to the file; called with mu held. A failed write
// loses the records, not the entries: the logs still hold them, to be
// consolidated (a run killed before then loses them).
func (j *journal) writeLocked() {
	if len(j.buf) == 0 || j.f == nil {
		return
	}
	c := j.budget.chargeIn(j.budgetDir, int64(len(j.buf)))
	n, err := unix.Write(int(j.f.Fd()), j.buf)
	j.budget.wrote(c, int64(max(n, 0)))
	if n > 0 {
		j.size += int64(n)
	}
	if err != nil || n < len(j.buf) {
		if !j.warned {
			slog.Error("console logs: writing the index journal", "path", j.path, "err", err)
			j.warned = true
		}
		// A record cut short would hide the ones after it: start over.
		if n > 0 && n < len(j.buf) {
			if unix.Ftruncate(int(j.f.Fd()), j.size-int64(n)) == nil {
				j.size -= int64(n)
				j.budget.shrunk(j.budgetDir, int64(n))
			}
		}
	} else {
		j.warned = false
	}
	if cap(j.buf) > 1<<20 {
		j.buf = nil
	} else {
		j.buf = j.buf[:0]
	}
}

// sweep consolidates every log with journaled entries, then empties the
// journal of what they were: truncated, or, when records were written
// meanwhile, replaced by a file holding only those.
func (j *journal) sweep() {
	j.sweepMu.Lock()
	defer j.sweepMu.Unlock()
	j.mu.Lock()
	logs := j.dirty
	j.dirty = nil
	for _, l := range logs {
		l.jdirty = false
	}
	mark := j.size
	j.mu.Unlock()
	for _, l := range logs {
		l.mu.Lock()
		l.consolidate()
		l.mu.Unlock()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil || mark == 0 {
		return
	}
	if j.size == mark {
		if err := unix.Ftruncate(int(j.f.Fd()), 0); err == nil {
			j.budget.shrunk(j.budgetDir, j.size)
			j.size = 0
		}
		return
	}
	if err := j.replaceLocked(mark); err != nil {
		slog.Error("console logs: emptying the index journal", "path", j.path, "err", err)
	}
}

// replaceLocked replaces the journal by a file holding its bytes from
// mark on, locked before it takes the journal's name; called with mu held.
func (j *journal) replaceLocked(mark int64) error {
	rest := make([]byte, j.size-mark)
	if _, err := j.f.ReadAt(rest, mark); err != nil {
		return err
	}
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		_, err = f.Write(rest)
	}
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	j.f.Close()
	j.budget.shrunk(j.budgetDir, mark)
	j.f, j.size = f, int64(len(rest))
	return nil
}

// syncIndex consolidates the journaled entries of console name's log in
// dir, for a reader about to read its index: in this process, through
// the live journal; else (`consoled logs -data DIR`, a run killed) by
// merging a journal nobody holds. When it cannot (another process holds
// the journal, or the directory cannot be written), it returns the
// journal's entries for the log, for the reader to add (see overlay).
func syncIndex(dir, name string) []journaled {
	key := journalKey(dir)
	journals.Lock()
	j := journals.m[key]
	journals.Unlock()
	if j == nil {
		return recoverDir(key, name)
	}
	j.mu.Lock()
	logs := append([]*Log(nil), j.names[name]...)
	j.mu.Unlock()
	for _, l := range logs {
		l.mu.Lock()
		l.consolidate()
		l.mu.Unlock()
	}
	return nil
}
