package logstore

import (
	"compress/gzip"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Budget bounds the console logs in one directory (max_total): the bytes
// of every console's current log, its rotated logs (compressed, being
// compressed, or waiting for it) and their indexes together never pass
// the bound. Before a write (a flush, an index entry, a piece of a gzip
// file) that would pass it, the oldest rotated logs, of any console, are
// removed until the write fits. Consoles that are no longer configured
// count with their rotated logs (and those go first, being older).
//
// Only rotated logs that consoled wrote are counted and removed: a
// NAME.log.K.gz whose gzip header says "consoled log of console NAME"
// (every rotation writes that), with its NAME.log.K.idx; a rotated file
// being compressed counts while its console is open. Nothing else in the
// directory (other .gz files, even named like rotated logs, the audit log,
// panics.jsonl) is counted or ever removed.
//
// The directory's index journal (JournalName) counts too: it holds up to
// consolidateEvery of every log's index entries, before they are in the
// indexes (see the package doc).
//
// Current logs are never removed, so the bound holds as long as MaxTotal
// leaves room for them (each up to its max_size, a rotation's files on
// top): when only current logs are left, the write happens anyway and
// consoled logs a warning.
type Budget struct {
	max atomic.Int64

	mu      sync.Mutex
	dir     string
	open    map[string]int // consoles with an open Log, by name
	used    int64          // bytes counted in dir at the last scan, plus writes since
	pending int64          // bytes charged whose writes have not returned yet
	counted bool           // used is from a scan of dir
	old     []rotatedFile  // removal candidates from the last scan, oldest last
	short   bool           // the last write did not fit (warned)

	verdicts map[uint64]verdict // writtenByConsoled's answers, by inode
}

type rotatedFile struct {
	path string
	mod  int64
}

// NewBudget returns a budget of maxTotal bytes (0: no bound).
func NewBudget(maxTotal int64) *Budget {
	b := &Budget{open: map[string]int{}}
	b.max.Store(maxTotal)
	return b
}

// SetMaxTotal changes the bound (a reload); 0 removes it.
func (b *Budget) SetMaxTotal(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.max.Store(n)
	b.counted, b.short = false, false // writes were not counted while there was no bound
}

// renaming takes the budget's lock and returns its unlock: rotations
// rename files with it held, so that a scan never sees a file under two
// names nor the budget removes one being renamed; the next charge scans
// again, its list of the oldest files being out of date.
func (b *Budget) renaming() func() {
	if b == nil {
		return func() {}
	}
	b.mu.Lock()
	b.counted = false
	return b.mu.Unlock
}

// register counts l's files from now on (Open); unregister stops (Close).
func (b *Budget) register(l *Log, open bool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open == nil {
		b.open = map[string]int{}
	}
	if open {
		b.open[l.name]++
	} else if b.open[l.name]--; b.open[l.name] <= 0 {
		delete(b.open, l.name)
	}
	b.counted = false
}

// charge makes room for n more bytes of l's files, removing the oldest
// rotated logs if needed, and counts them; it returns what it counted (0
// with no bound), for wrote once the write returns.
func (b *Budget) charge(l *Log, n int64) int64 {
	if b == nil || b.max.Load() <= 0 {
		return 0 // no max_total: not even the directory's name to work out
	}
	return b.chargeIn(filepath.Dir(l.path), n)
}

// chargeIn is charge for a file in dir (the index journal).
func (b *Budget) chargeIn(dir string, n int64) int64 {
	if b == nil || n <= 0 {
		return 0
	}
	max := b.max.Load()
	if max <= 0 {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if dir != b.dir {
		b.dir, b.counted = dir, false
	}
	if !b.counted || b.used+n > max && !b.short {
		b.scan() // (when short, nothing has changed since the last one)
	}
	for b.used+n > max && len(b.old) > 0 {
		f := b.old[len(b.old)-1]
		b.old = b.old[:len(b.old)-1]
		if b.removeLocked(f.path) == nil {
			b.removeLocked(strings.TrimSuffix(f.path, ".gz") + ".idx")
			slog.Info("console logs at max_total: removed the oldest rotated log", "path", f.path)
		}
	}
	if over := b.used+n > max; over && !b.short {
		slog.Warn("console logs over max_total with no rotated log left to remove: max_total must leave room for every console's current log (max_size each)",
			"dir", b.dir, "max_total", max, "bytes", b.used+n)
		b.short = true
	} else if !over {
		b.short = false
	}
	b.used += n
	b.pending += n
	return n
}

// wrote settles a charge of n bytes (charge's answer) of which written
// were written.
func (b *Budget) wrote(n, written int64) {
	if b == nil || n <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending -= n
	b.used -= n - written
}

// shrunk uncounts n bytes a file in dir lost (the journal, emptied).
func (b *Budget) shrunk(dir string, n int64) {
	if b == nil || n <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.counted && dir == b.dir {
		b.used -= n
	}
}

// remove removes a file and uncounts it.
func (b *Budget) remove(path string) error {
	if b != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
	}
	return b.removeLocked(path)
}

// removeLocked is remove with the lock held (or b nil).
func (b *Budget) removeLocked(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	if b != nil && b.counted && filepath.Dir(path) == b.dir {
		b.used -= st.Size()
	}
	return nil
}

// rotatedName is NAME.log.K with a suffix: "" (being compressed), ".gz",
// ".gz.tmp" (compressing) or ".idx".
var rotatedName = regexp.MustCompile(`^(.+)\.log\.[0-9]+(\.gz|\.gz\.tmp|\.idx)?$`)

// scan counts the budget's files in dir and lists the rotated logs that
// may go, oldest last; called with mu held. A rotated NAME.log.K.gz counts,
// with its index, when consoled wrote it (the header says so); a file that
// is being compressed counts while its console is open.
func (b *Budget) scan() {
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		return
	}
	infos := make(map[string]os.FileInfo, len(ents))
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			infos[e.Name()] = info
		}
	}
	ours := func(gz string) bool {
		info, ok := infos[gz]
		return ok && b.writtenByConsoled(filepath.Join(b.dir, gz), info)
	}
	var used int64
	var old []rotatedFile
	seen := map[uint64]bool{}
	for name, info := range infos {
		m := rotatedName.FindStringSubmatch(name)
		if name == JournalName {
			used += info.Size() // entries on their way to the indexes
			continue
		}
		if m == nil {
			if c, ok := strings.CutSuffix(strings.TrimSuffix(name, ".idx"), ".log"); ok && b.open[c] > 0 {
				used += info.Size() // a current log or its index
			}
			continue
		}
		base, open := strings.TrimSuffix(name, m[2]), b.open[m[1]] > 0
		_, compressing := infos[base]
		_, compressing2 := infos[base+".gz.tmp"]
		var counts bool
		switch m[2] {
		case ".gz":
			if counts = ours(name); counts {
				old = append(old, rotatedFile{filepath.Join(b.dir, name), info.ModTime().UnixNano()})
			}
		case ".idx":
			counts = ours(base+".gz") || open && (compressing || compressing2)
		default: // being compressed
			counts = open
		}
		if counts {
			used += info.Size()
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			seen[st.Ino] = true
		}
	}
	for ino := range b.verdicts {
		if !seen[ino] {
			delete(b.verdicts, ino) // the file is gone
		}
	}
	sort.Slice(old, func(i, j int) bool { return old[i].mod > old[j].mod })
	// A write charged but not done may or may not be in the sizes: count it
	// (at worst twice, until the next scan).
	b.used, b.old, b.counted = used+b.pending, old, true
}

// verdict is what writtenByConsoled found for a file, kept by inode (a
// rotation renames files, it does not change them).
type verdict struct {
	size, mod int64
	ours      bool
}

// writtenByConsoled says whether a gzip file's header names consoled as
// its writer; called with mu held.
func (b *Budget) writtenByConsoled(path string, info os.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	if ok {
		if v, seen := b.verdicts[st.Ino]; seen && v.size == info.Size() && v.mod == info.ModTime().UnixNano() {
			return v.ours
		}
	}
	yes := false
	if f, err := os.Open(path); err == nil {
		if zr, err := gzip.NewReader(f); err == nil {
			yes = strings.HasPrefix(zr.Comment, gzipComment)
		}
		f.Close()
	}
	if ok {
		if b.verdicts == nil {
			b.verdicts = map[uint64]verdict{}
		}
		b.verdicts[st.Ino] = verdict{info.Size(), info.ModTime().UnixNano(), yes}
	}
	return yes
}
