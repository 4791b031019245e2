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

	idxSec int64    // second of the last index entry
	ino    uint64   // the current file's inode (journal records name it)
	jr     *journal // the directory's index journal (nil: none)
	jidx   []byte   // entries journaled, not yet in NAME.log.idx

	known   bool         // the file's state (size, mid-line) is known: reopen, not open
	closed  bool         // Close was called (the budget no longer counts it)
	jdirty  bool         // on jr's list of logs to consolidate (jr.mu)
	idxNow  bool         // the file's first entries go to its index at once (readers know a file by its index's inode)
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
