package logstore

import (
	"bytes"
	"fmt"
	"log/slog"
	"time"
)

// rotateWindow is how far before MaxSize a log starts to look for a line
// end to rotate at: the file ends at the first "\n" that takes it into the
// last rotateWindow bytes (an eighth of MaxSize, at most 64 KiB). Only a
// line longer than that is cut, at MaxSize.
func (l *Log) rotateWindow() int64 { return min(l.opts.MaxSize/8, 64<<10) }

// write buffers p for the file, rotating at a line end near MaxSize (see
// rotateWindow), or at MaxSize when no line end comes; called with mu held.
func (l *Log) write(p []byte) {
	for len(p) > 0 {
		if l.f == nil {
			if err := l.openAgain(); err != nil {
				l.fail(err, len(p))
				return
			}
		}
		zone := l.opts.MaxSize - l.rotateWindow()
		if l.size >= l.opts.MaxSize || l.size >= zone && l.size > 0 && !l.midLine {
			if err := l.rotate(); err != nil {
				l.fail(err, len(p))
				return
			}
		}
		chunk := p[:min(int64(len(p)), l.opts.MaxSize-l.size)]
		if l.size+int64(len(chunk)) > zone {
			// The first line end at or past the zone ends this file.
			from := max(0, zone-l.size-1)
			if i := bytes.IndexByte(chunk[from:], '\n'); i >= 0 {
				chunk = chunk[:from+int64(i)+1]
			}
		}
		l.buffer(chunk)
		p = p[len(chunk):]
	}
}

// buffer adds p to what the flusher writes; called with mu held.
func (l *Log) buffer(p []byte) {
	if sec := l.now().Unix(); sec != l.idxSec {
		l.idxSec = sec
		l.pendIdx = append(l.pendIdx, indexEntry(sec, l.size)...)
	}
	if l.pend == nil {
		l.pendBox = pendPool.Get().(*[]byte)
		l.pend = *l.pendBox
	}
	l.pend = append(l.pend, p...)
	l.size += int64(len(p))
	l.midLine = p[len(p)-1] != '\n'
	if len(l.pend) >= flushSize {
		l.flush()
	} else if !l.queued {
		l.queued = true
		flusher.add(l)
	}
}

// flush writes what is buffered; called with mu held. After a failed
// write, the next successful one starts with a mark saying what is missing
// and when writing stopped and resumed.
func (l *Log) flush() {
	if len(l.pendIdx) > 0 {
		l.journalEntries()
	}
	l.pendIdx = l.pendIdx[:0]
	if len(l.pend) == 0 {
		return
	}
	if l.f == nil { // closed meanwhile (Close, a failed rotation)
		if err := l.openAgain(); err != nil {
			l.fail(err, len(l.pend))
			l.dropPend()
			return
		}
	}
	out := l.pend
	now := time.Now()
	if l.failed != nil {
		gap := fmt.Sprintf("log gap: %d bytes not recorded: writing stopped at %s and resumed at %s: %v",
			l.lost, l.failedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), l.failed)
		out = append(MarkLine(gap, now, l.fileMidLine), l.pend...)
	}
	c := l.opts.Budget.charge(l, int64(len(out)))
	n, err := l.f.Write(out)
	l.opts.Budget.wrote(c, int64(n))
	l.written += uint64(n)
	if n > 0 {
		l.fileMidLine = out[n-1] != '\n'
	}
	if err != nil {
		lost := len(l.pend)
		if extra := len(out) - len(l.pend); n > extra {
			lost -= n - extra // the part of the output that made it
		}
		l.fail(fmt.Errorf("writing %s: %w", l.path, err), lost)
		if st, serr := l.f.Stat(); serr == nil {
			l.size = st.Size() // the index is approximate across a failure
		}
	} else {
		if l.failed != nil {
			slog.Info("console log written again", "path", l.path, "failed_since", l.failedAt, "lost_bytes", l.lost)
			l.size += int64(len(out) - len(l.pend)) // the gap mark
		}
		l.failed, l.lost = nil, 0
	}
	if err == nil {
		l.lastUse.Store(now.UnixNano())
	}
	l.dropPend()
}

// dropPend gives the write buffer back: a thousand idle consoles should
// not each hold one. Called with mu held.
func (l *Log) dropPend() {
	if cap(l.pend) <= 4*flushSize {
		*l.pendBox = l.pend[:0]
		pendPool.Put(l.pendBox)
	}
	l.pend, l.pendBox = nil, nil
}

// openAgain opens the log's file after it was closed: the same file again
// when its state is known, else the file as if anew; called with mu held.
func (l *Log) openAgain() error {
	if l.known {
		if err := l.reopen(); err != nil {
			return fmt.Errorf("opening log: %w", err)
		}
		return nil
	}
	return l.open()
}

// fail records a write that did not happen; called with mu held.
func (l *Log) fail(err error, lost int) {
	l.writeErrors++
	if l.failed == nil {
		l.failed, l.failedAt = err, time.Now()
		slog.Error("console log not written: output is lost until writing works again", "path", l.path, "err", err)
	}
	l.lost += int64(lost)
}
