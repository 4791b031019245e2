// Package vterm is a small virtual terminal: it runs what a machine
// printed (a VT100/xterm subset: text, SGR colours, cursor addressing and
// movement, erasing, inserting and deleting, scroll regions, the
// alternate screen) and keeps the screen it would show, so that someone
// attaching to a console in a full-screen BIOS menu, boot loader or `top`
// sees that screen at once. It is fed at attach from the tail of the log,
// so a console nobody attaches to costs nothing; memory is the screen's
// cells (at most MaxRows x MaxCols). What it paints holds only text, SGR,
// cursor positioning and erasing: nothing a terminal answers.
package vterm

import "unicode/utf8"

// Screen size bounds.
const (
	MaxRows = 200
	MaxCols = 400
)

// Term is a virtual terminal. The zero value is not usable; see New.
type Term struct {
	rows, cols int
	main, alt  [][]cell
	altOn      bool
	x, y       int
	wrapNext   bool // the last column was written: the next character wraps
	noWrap     bool // DECAWM off
	cur        attr
	top, bot   int // scroll region, inclusive
	saved      struct {
		x, y int
		a    attr
	}

	// Full-screen detection: cursor addressing (or the alternate screen)
	// seen, and how many lines scrolled by since.
	addressed bool
	scrolled  int

	p parser
}

type cell struct {
	r rune // 0: blank
	a attr
}

// New returns a blank terminal of rows x cols (bounded by MaxRows and
// MaxCols; at least 1 x 1).
func New(rows, cols int) *Term {
	rows, cols = min(max(rows, 1), MaxRows), min(max(cols, 1), MaxCols)
	t := &Term{rows: rows, cols: cols, bot: rows - 1}
	t.main, t.alt = blank(rows, cols), blank(rows, cols)
	return t
}

func blank(rows, cols int) [][]cell {
	s := make([][]cell, rows)
	for i := range s {
		s[i] = make([]cell, cols)
	}
	return s
}

func (t *Term) screen() [][]cell {
	if t.altOn {
		return t.alt
	}
	return t.main
}

// FullScreen reports whether what was run draws a full screen (cursor
// addressing, screen clearing or the alternate screen, not since scrolled
// away by a screenful of lines), rather than scrolling lines.
func (t *Term) FullScreen() bool { return t.altOn || t.addressed }

// Write runs p. It never fails.
func (t *Term) Write(p []byte) (int, error) {
	for _, b := range p {
		t.p.feed(t, b)
	}
	return len(p), nil
}

// put writes one character at the cursor.
func (t *Term) put(r rune) {
	if r >= 0x80 && r < 0xa0 {
		return // a C1 control in UTF-8: nothing to show
	}
	if t.wrapNext {
		t.wrapNext = false
		t.x = 0
		t.lineFeed()
	}
	row := t.screen()[t.y]
	row[t.x] = cell{r: r, a: t.cur}
	if t.x == t.cols-1 {
		t.wrapNext = !t.noWrap
		return
	}
	t.x++
}

// lineFeed moves down a line, scrolling the region at its bottom.
func (t *Term) lineFeed() {
	t.wrapNext = false
	switch {
	case t.y == t.bot:
		t.scrollUp(t.top, t.bot, 1)
		if t.addressed && t.top == 0 && t.bot == t.rows-1 {
			t.scrolled++
			if t.scrolled >= t.rows {
				t.addressed = false // a screenful of lines since: a line console again
			}
		}
	case t.y < t.rows-1:
		t.y++
	}
}

// reverseIndex moves up a line, scrolling the region down at its top.
func (t *Term) reverseIndex() {
	t.wrapNext = false
	switch {
	case t.y == t.top:
		t.scrollDown(t.top, t.bot, 1)
	case t.y > 0:
		t.y--
	}
}

func (t *Term) scrollUp(top, bot, n int) {
	s := t.screen()
	n = min(n, bot-top+1)
	copy(s[top:bot+1], append(append([][]cell{}, s[top+n:bot+1]...), blankRows(n, t.cols, t.cur)...))
}

func (t *Term) scrollDown(top, bot, n int) {
	s := t.screen()
	n = min(n, bot-top+1)
	copy(s[top:bot+1], append(blankRows(n, t.cols, t.cur), s[top:bot+1-n]...))
}

func blankRows(n, cols int, a attr) [][]cell {
	rows := make([][]cell, n)
	for i := range rows {
		rows[i] = make([]cell, cols)
		if a.bg != 0 {
			for j := range rows[i] {
				rows[i][j].a.bg = a.bg
			}
		}
	}
	return rows
}

// erase blanks cells [from, to) of row y (with the current background).
func (t *Term) erase(y, from, to int) {
	row := t.screen()[y]
	for i := max(from, 0); i < min(to, t.cols); i++ {
		row[i] = cell{a: attr{bg: t.cur.bg}}
	}
}

// moveTo puts the cursor at (x, y), clamped to the screen.
func (t *Term) moveTo(x, y int) {
	t.x, t.y = min(max(x, 0), t.cols-1), min(max(y, 0), t.rows-1)
	t.wrapNext = false
}

// address notes cursor addressing: the machine draws a screen.
func (t *Term) address() { t.addressed, t.scrolled = true, 0 }

// setAlt switches to (on) or from the alternate screen, clearing it on
// the way in as xterm's mode 1049 does.
func (t *Term) setAlt(on bool) {
	if on == t.altOn {
		return
	}
	if on {
		t.saved.x, t.saved.y, t.saved.a = t.x, t.y, t.cur
		t.alt = blank(t.rows, t.cols)
		t.altOn = true
		t.address()
		return
	}
	t.altOn = false
	t.addressed = false
	t.x, t.y, t.cur = t.saved.x, t.saved.y, t.saved.a
}

func (t *Term) reset() {
	*t = *New(t.rows, t.cols)
}

// decodeRune is the rune of a complete UTF-8 sequence (or the bytes of an
// 8-bit charset, one each).
func decodeRune(b []byte) rune {
	r, n := utf8.DecodeRune(b)
	if r == utf8.RuneError && n <= 1 {
		return rune(b[0]) // Latin-1 and the like
	}
	return r
}
