package logstore

import (
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Open files. A console holds at most one descriptor for its log, and only
// while it prints: the time index goes through the directory's journal (one
// descriptor for all logs) and is consolidated through a handle opened for
// that append, and a log that has not been written for DefaultIdleClose is
// closed, to be opened again on its next output. So a gateway of 10,000
// consoles, most of them quiet, holds about one descriptor per console (its
// connection) plus one per busy log.
//
// SetMaxOpen bounds the log files open at once, for a process whose
// open-file limit cannot hold one per console: opening one more closes
// another (chosen at random among those not being written right now).

// DefaultIdleClose is how long a log stays open after its last write.
const DefaultIdleClose = 10 * time.Second

// idleClose is DefaultIdleClose but in tests (nanoseconds).
var idleClose atomic.Int64

func init() { idleClose.Store(int64(DefaultIdleClose)) }

// SetMaxOpen bounds the console log files open at once (0: no bound).
func SetMaxOpen(n int) { handles.max.Store(int64(n)) }

var handles = &handleSet{}

// handleSet is every Log whose file is open.
type handleSet struct {
	max atomic.Int64

	mu      sync.Mutex
	open    []*Log // each at its hslot
	janitor bool   // the goroutine closing idle logs runs
}

// opened counts l's file as open, first closing another log's if that
// would pass the bound; called with l.mu held.
func (h *handleSet) opened(l *Log) {
	for tries := 0; tries < 8; tries++ {
		max := int(h.max.Load())
		h.mu.Lock()
		if max <= 0 || len(h.open) < max {
			h.mu.Unlock()
			break
		}
		v := h.open[rand.IntN(len(h.open))]
		h.mu.Unlock()
		// Never wait for another log's lock while holding ours: two logs
		// evicting each other would deadlock. A busy one is skipped.
		if v == l || !v.mu.TryLock() {
			continue
		}
		v.closeFile()
		v.mu.Unlock()
	}
	h.mu.Lock()
	l.hslot = len(h.open)
	h.open = append(h.open, l)
	if !h.janitor {
		h.janitor = true
		go h.closeIdle()
	}
	h.mu.Unlock()
}

// closed forgets l's file; called with l.mu held.
func (h *handleSet) closed(l *Log) {
	h.mu.Lock()
	defer h.mu.Unlock()
	last := h.open[len(h.open)-1]
	h.open[l.hslot], last.hslot = last, l.hslot
	h.open[len(h.open)-1] = nil
	h.open = h.open[:len(h.open)-1]
	l.hslot = -1
}

// closeIdle closes the logs not written for idleClose, looking every half
// of it (at most a second), while any log is open.
func (h *handleSet) closeIdle() {
	var idle []*Log
	for {
		after := time.Duration(idleClose.Load())
		time.Sleep(min(after/2, time.Second))
		h.mu.Lock()
		if len(h.open) == 0 {
			h.janitor = false
			h.mu.Unlock()
			return
		}
		before := time.Now().Add(-after).UnixNano()
		for _, l := range h.open {
			if l.lastUse.Load() < before {
				idle = append(idle, l)
			}
		}
		h.mu.Unlock()
		for _, l := range idle {
			l.mu.Lock()
			if l.lastUse.Load() < before {
				l.closeFile()
			}
			l.mu.Unlock()
		}
		clear(idle)
		idle = idle[:0]
	}
}

// closeFile writes what is buffered and closes the file (it is opened
// again on the next write); called with l.mu held.
func (l *Log) closeFile() {
	if l.f == nil {
		return
	}
	l.flush()
	l.consolidate()
	l.jidx = nil // a quiet log holds no entries
	l.f.Close()
	l.f = nil
	handles.closed(l)
}

// reopen opens the current file again after closeFile, the log's state
// (size, mid-line) being known; called with mu held.
func (l *Log) reopen() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size, l.ino = f, st.Size(), inodeOf(st)
	l.lastUse.Store(time.Now().UnixNano())
	handles.opened(l)
	return nil
}

// writeIndex appends entries to NAME.log.idx through a handle of its own,
// closed at once; called with mu held. Plain system calls, not
// os.OpenFile, which adds half a dozen (file kind, non-blocking mode, the
// poller) to the three an append needs. (The path is made each time: a
// log consolidates its entries every 30 s at most, and a quiet one never,
// so keeping it would cost every console its bytes.)
func (l *Log) writeIndex(entries []byte) {
	fd, err := unix.Open(l.path+".idx", unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND|unix.O_CLOEXEC, 0o640)
	if err != nil {
		return // best effort: the log matters more
	}
	c := l.opts.Budget.charge(l, int64(len(entries)))
	n, _ := unix.Write(fd, entries)
	l.opts.Budget.wrote(c, int64(max(n, 0)))
	unix.Close(fd)
}
