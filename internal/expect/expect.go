// Package expect looks for a regular expression in a stream of output, as
// `break --expect` does. It looks in a sliding window of the most recent
// bytes, so memory and the work per byte stay bounded however long the
// stream runs: a match may span any number of pieces of the stream, as long
// as all of it lies within the window.
package expect

import "regexp"

// DefaultWindow is the window `break --expect` searches: the last 64 KiB.
const DefaultWindow = 64 << 10

// Window holds the last Size bytes of a stream and finds an expression in
// them. The zero value is not usable; use New.
type Window struct {
	re   *regexp.Regexp
	size int
	buf  []byte // the window is its last size bytes; never more than 2*size
}

// New returns a window of size bytes (DefaultWindow if size <= 0) that
// looks for re.
func New(re *regexp.Regexp, size int) *Window {
	if size <= 0 {
		size = DefaultWindow
	}
	return &Window{re: re, size: size}
}

// Add appends p to the stream; bytes older than the window are let go.
func (w *Window) Add(p []byte) {
	if len(p) >= w.size {
		w.buf = append(w.buf[:0], p[len(p)-w.size:]...)
		return
	}
	if keep := w.size - len(p); len(w.buf) > keep && len(w.buf)+len(p) > 2*w.size {
		// Only the last keep bytes stay in the window: move them to the
		// front (once per window's worth of output) instead of growing.
		w.buf = w.buf[:copy(w.buf, w.buf[len(w.buf)-keep:])]
	}
	w.buf = append(w.buf, p...)
}

// Match reports whether the expression matches within the window.
func (w *Window) Match() bool {
	return w.re.Match(w.buf[max(0, len(w.buf)-w.size):])
}

// Len is how many bytes the window holds now (at most its size).
func (w *Window) Len() int { return min(len(w.buf), w.size) }
