// Package logstore records a console's output to disk, byte for byte, with
// size-based rotation.
//
// # Format
//
// The current log of console NAME is DIR/NAME.log. It holds the bytes the
// machine printed, in order, and event marks that consoled adds. A mark is
// always a line of its own:
//
//	[-- consoled: EVENT TIME --]
//	[-- consoled: console up 2026-11-23T10:00:00Z --]
//
// EVENT is one line (runs of white space become one space); TIME is when
// the event happened, UTC, RFC 3339. A mark is never more than that line.
//
// An event that comes while the machine is mid-line (a shell prompt always
// is) waits up to holdFor (50 ms) for the line to end, and is written right
// after its "\n". When the line does not end by then, or the event ends it
// (MarkEnd: the connection went down; consoled stops; the first mark after
// consoled started again on a file left mid-line, e.g. by kill -9),
// consoled ends the line itself and flags the mark "(mid-line)":
//
//	bash-5.2# \n
//	[-- consoled: bob attached rw from 10.0.0.7 2026-11-23T10:00:00Z (mid-line) --]\n
//	ls\r\n
//
// The flag says that the "\n" just before the mark is consoled's: the
// machine printed "bash-5.2# ls\r\n". So what the machine printed is
// exactly the file without its mark lines and without the "\n" before each
// flagged mark (MachineBytes); ParseMark is the parser of a mark line. Only
// the first of several marks written together can be flagged. A machine
// that prints a line looking like a mark cannot be told from consoled.
//
// # Time index
//
// Beside each log file is NAME.log.idx: one 16-byte entry (little-endian
// int64 Unix seconds, int64 byte offset) for every second in which the
// console printed something, giving the offset of the first byte written in
// that second. A time range is found by a binary search, not a scan.
//
// Entries reach the index by way of the directory's index journal,
// DIR/.consoled-index.journal (JournalName), so that a trickle of output
// on thousands of consoles does not cost an open, a write and a close of
// an index per console per second. The journal is one file and one
// descriptor for the whole directory, locked (flock) by the process that
// writes it. Each flusher pass writes the entries of every log it flushed
// to the journal in one write, after the logs' bytes: a record (see
// recover.go) names the console and the inode of the file the entry
// indexes. Each log's entries are then consolidated into its own
// NAME.log.idx, through a handle opened for that append and closed at
// once: all logs every 30 s (consolidateEvery), after which the journal is
// emptied; a log on its idle close, on Close, and before a rotation, which
// also writes a record saying that the file is renamed, so that no entry
// of it is ever applied to the next file; and a file's first entry at
// once (a reader knows a file by its index's inode). A log keeps the
// entries it journaled until they are consolidated (16 bytes per second of
// output, at most 30 s of them).
//
// Readers consolidate first: a query, a follow that reaches bytes past
// its index, the timeline, consolidate the console's journaled entries
// before reading its index, so they see the last second as before. A
// process that dies (kill -9, a crash) leaves entries in the journal: the
// next one to open a log in the directory merges them into the indexes
// before anything else, and so does a reader when no process holds the
// journal (`consoled logs -data DIR` on the directory of a killed run; it
// leaves a journal that a running consoled holds to it, and reads a
// directory it cannot write without it). A merge adds only the entries of
// the file NAME.log is now (its inode), past the index's last entry and
// within the file, so merging twice adds nothing; the journal is emptied
// once merged. The journal counts in max_total (see Budget). A write of
// the journal that fails loses no entry a run that goes on will
// consolidate; a consolidation that fails loses its entries (the log
// matters more), as a failed index write always did.
//
// # Rotation
//
// NAME.log rotates at a line end: at the first "\n" that takes it into the
// last eighth of MaxSize (at most the last 64 KiB), so a file holds whole
// lines; only a line longer than that is cut, at MaxSize, which no file
// passes. NAME.log becomes NAME.log.1 (compressed to NAME.log.1.gz in the
// background, the gzip header comment saying "consoled log of console
// NAME"), NAME.log.1.gz becomes NAME.log.2.gz and so on, each with its .idx
// (offsets are in uncompressed bytes); NAME.log.Keep is the oldest kept.
// The stream goes on across files: a line cut at MaxSize goes on at the
// start of the next file, and a mark there is flagged mid-line as usual.
// A Budget shared by all consoles (max_total) bounds the console logs of
// the directory: see Budget for exactly what it counts and removes.
//
// # Batching and durability
//
// Output is buffered and written by one flusher goroutine for all consoles
// every flushEvery (90 ms), or at once when 64 KiB are pending: one write
// system call per console per interval, and a crash of consoled loses at
// most the last 90 ms. A mark is written at once (a held one as soon as it
// is written into the log), with whatever output is buffered before it.
// Close, Tail and rotation flush first.
//
// # Failure policy
//
// Recording never stops the console: when a write fails (disk full, I/O
// error) the bytes are counted as lost, Err reports the failure, it is
// logged (slog) when it starts and when writing works again, Stats counts
// each failed write, and the first successful write afterwards is preceded
// by a mark that says how many bytes are missing, when writing stopped and
// when it resumed, and why:
//
//	[-- consoled: log gap: 1234 bytes not recorded: writing stopped at T1 and resumed at T2: ERROR TIME --]
package logstore

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Options bound the disk one console's log uses.
type Options struct {
	MaxSize int64   // rotate before the current file would exceed this; 64 MiB when zero
	Keep    int     // rotated files kept (NAME.log.1 .. NAME.log.Keep)
	Budget  *Budget // shared limit on the whole directory; nil for none
}

// DefaultMaxSize is used when Options.MaxSize is zero.
const DefaultMaxSize = 64 << 20

// Log is one console's log. Its methods are safe for concurrent use.
type Log struct {
	name string
	path string
	opts Options

	mu      sync.Mutex
	f       *os.File
	size    int64
	midLine bool  // the last byte written was not '\n'
	cutLine bool  // midLine, and the line was left so by an earlier run: it will not end
	failed  error // the last write error, until a write succeeds
	lost    int64 // bytes not recorded since failed was set

	failedAt    time.Time // when failed was set
	writeErrors uint64    // writes that failed

	held      []heldMark  // marks waiting for the end of the current line
	holdTimer *time.Timer // writes held marks holdFor after the first

	written   uint64 // bytes written, marks included
	rotations uint64

	pend        []byte  // written to the file by the flusher, at most flushEvery later
	pendBox     *[]byte // pend's holder in pendPool (a pointer, so a Put allocates nothing)
	fileMidLine bool    // the file (not the buffer) ends mid-line
	pendIdx     []byte  // index entries of the bytes in pend
	queued      bool    // on the flusher's list

	idxSec  int64    // second of the last index entry
	idxPath []byte   // NAME.log.idx, NUL-terminated (writeIndex)
	ino     uint64   // the current file's inode (journal records name it)
	jr      *journal // the directory's index journal (nil: none)
	jidx    []byte   // entries journaled, not yet in NAME.log.idx
	jdirty  bool     // on jr's list of logs to consolidate (jr.mu)
	idxNow  bool     // the file's first entries go to its index at once (readers know a file by its index's inode)

	known   bool         // the file's state (size, mid-line) is known: reopen, not open
	closed  bool         // Close was called (the budget no longer counts it)
	hslot   int          // its place in handles.open while f is open
	lastUse atomic.Int64 // UnixNano of the last write to f (see DefaultIdleClose)
	gzip    sync.WaitGroup
	now     func() time.Time
}

// Open opens (appending) or creates dir/name.log.
func Open(dir, name string, opts Options) (*Log, error) {
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating log directory: %w", err)
	}
	l := &Log{name: name, path: filepath.Join(dir, name+".log"), opts: opts, now: time.Now}
	attachJournal(l, dir)
	if err := l.open(); err != nil {
		l.detachJournal()
		return nil, err
	}
	opts.Budget.register(l, true)
	return l, nil
}

// Path is the current log file.
func (l *Log) Path() string { return l.path }

func (l *Log) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("opening log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening log: %w", err)
	}
	// The index is created by its first entry (consolidated at once, see
	// idxNow), through a handle of its own: opening ten thousand logs at
	// start creates ten thousand files, not twenty thousand.
	l.f, l.size, l.idxSec, l.known, l.ino, l.idxNow = f, st.Size(), 0, true, inodeOf(st), true
	l.lastUse.Store(time.Now().UnixNano())
	handles.opened(l)
	// A new file (after a rotation) goes on where the last one stopped,
	// mid-line or not; an existing one is read to see where it stopped.
	if l.size > 0 {
		last := make([]byte, 1)
		if r, err := os.Open(l.path); err == nil {
			if _, err := r.ReadAt(last, l.size-1); err == nil {
				l.midLine = last[0] != '\n'
			}
			r.Close()
		}
		l.fileMidLine, l.cutLine = l.midLine, l.midLine
	}
	return nil
}

// Write records console output. It always reports success to the caller:
// a failure is kept in Err and marked in the log once writing works again.
// Bytes reach the file (the kernel's page cache) within flushEvery, in
// one write per console per interval however the output arrived.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.held) > 0 {
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			l.write(p[:i+1])
			l.writeHeld()
			l.write(p[i+1:])
			l.flush()
			return len(p), nil
		}
	}
	l.write(p)
	return len(p), nil
}

// holdFor is how long a mark waits for the machine to end its line.
const holdFor = 50 * time.Millisecond

// Mark records an event, e.g. Mark("alice attached", now): at once when the
// console is at the start of a line, else after the line ends, or flagged
// mid-line if it does not end within holdFor (see the package doc).
func (l *Log) Mark(event string, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.midLine && !l.cutLine {
		l.held = append(l.held, heldMark{event, t})
		if l.holdTimer == nil {
			l.holdTimer = time.AfterFunc(holdFor, l.releaseHeld)
		}
		return
	}
	l.writeMark(event, t)
	l.flush()
}

// MarkEnd records an event that ends the current line, e.g. the connection
// going down: held marks are written first, and the first mark is flagged
// mid-line if the machine was.
func (l *Log) MarkEnd(event string, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writeHeld()
	l.writeMark(event, t)
	l.flush()
}

// releaseHeld writes the marks that waited holdFor for the line to end.
func (l *Log) releaseHeld() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.held) == 0 {
		return // written meanwhile
	}
	l.writeHeld()
	l.flush()
}

// writeHeld writes the held marks; called with mu held.
func (l *Log) writeHeld() {
	if l.holdTimer != nil {
		l.holdTimer.Stop()
		l.holdTimer = nil
	}
	for _, m := range l.held {
		l.writeMark(m.event, m.t)
	}
	l.held = l.held[:0]
}

// writeMark writes a mark, flagged if the log is mid-line; called with mu
// held.
func (l *Log) writeMark(event string, t time.Time) {
	l.write(MarkLine(event, t, l.midLine))
	l.cutLine = false
}

// Err reports the write failure that is losing bytes right now, if any.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// Close closes the file. Writes after Close reopen it.
func (l *Log) Close() error {
	l.mu.Lock()
	l.writeHeld()
	l.flush()
	l.consolidate()
	var err error
	if l.f != nil {
		err = l.f.Close()
		l.f = nil
		handles.closed(l)
	}
	l.gzip.Wait()
	first := !l.closed
	if first {
		l.closed = true
		l.opts.Budget.register(l, false)
	}
	l.mu.Unlock()
	if first {
		l.detachJournal()
	}
	return err
}

var _ io.Writer = (*Log)(nil)

// openCurrent flushes what is buffered and opens the current log file for
// reading, with its size; the caller closes it.
func (l *Log) openCurrent() (*os.File, os.FileInfo, error) {
	l.mu.Lock()
	l.flush()
	l.mu.Unlock()
	f, err := os.Open(l.path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("reading log: %w", err)
	}
	return f, st, nil
}

// Tail returns about the last n lines of the current log file (fewer if
// the file has fewer), for replaying recent output to a client.
func (l *Log) Tail(n int) ([]byte, error) {
	f, st, err := l.openCurrent()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	const chunk = 16 << 10
	var buf []byte
	for off := st.Size(); off > 0 && bytes.Count(buf, []byte{'\n'}) <= n && len(buf) < 4<<20; {
		size := int64(chunk)
		if off < size {
			size = off
		}
		off -= size
		part := make([]byte, size)
		if _, err := f.ReadAt(part, off); err != nil {
			return nil, fmt.Errorf("reading log: %w", err)
		}
		buf = append(part, buf...)
	}
	// Keep the last n lines (a final unfinished line counts as one).
	lines := 0
	for i := len(buf) - 1; i >= 0; i-- {
		if buf[i] == '\n' && i != len(buf)-1 {
			lines++
			if lines == n {
				return buf[i+1:], nil
			}
		}
	}
	return buf, nil
}

// TailBytes returns about the last max bytes of the current log file: from
// the start of a line when one starts within them (the first line may be
// cut otherwise), for painting a console's current screen.
func (l *Log) TailBytes(max int) ([]byte, error) {
	f, st, err := l.openCurrent()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	off := st.Size() - int64(max)
	if off < 0 {
		off = 0
	}
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("reading log: %w", err)
	}
	if i := bytes.IndexByte(buf, '\n'); off > 0 && i >= 0 {
		buf = buf[i+1:]
	}
	return buf, nil
}

// Stats are counters for metrics.
type Stats struct {
	Written     uint64 // bytes written to disk, marks included
	Rotations   uint64
	WriteErrors uint64 // writes that failed (each losing what it held)
}

// Stats reports the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{Written: l.written, Rotations: l.rotations, WriteErrors: l.writeErrors}
}

// pendPool recycles write buffers between flushes.
var pendPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}
