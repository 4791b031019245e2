package vterm

import (
	"strconv"
	"strings"
)

// attr is a cell's rendition. Colours: 0 default, 1+n for palette colour
// n (0-255), 1<<24|rgb for a direct colour.
type attr struct {
	fg, bg int32
	flags  uint8
}

// Rendition flags, by their SGR numbers.
const (
	bold uint8 = 1 << iota
	dim
	italic
	underline
	blink
	reverse
	hidden
	strike
)

var flagSGR = [...]int{1, 2, 3, 4, 5, 7, 8, 9}

// sgr applies SGR parameters to a.
func (a attr) sgr(ps []int) attr {
	if len(ps) == 0 {
		return attr{}
	}
	for i := 0; i < len(ps); i++ {
		switch p := ps[i]; {
		case p == 0:
			a = attr{}
		case p >= 1 && p <= 9 && p != 6:
			for bit, n := range flagSGR {
				if n == p {
					a.flags |= 1 << bit
				}
			}
		case p == 22:
			a.flags &^= bold | dim
		case p == 23:
			a.flags &^= italic
		case p == 24:
			a.flags &^= underline
		case p == 25:
			a.flags &^= blink
		case p == 27:
			a.flags &^= reverse
		case p == 28:
			a.flags &^= hidden
		case p == 29:
			a.flags &^= strike
		case p >= 30 && p <= 37:
			a.fg = int32(p-30) + 1
		case p >= 90 && p <= 97:
			a.fg = int32(p-90+8) + 1
		case p == 39:
			a.fg = 0
		case p >= 40 && p <= 47:
			a.bg = int32(p-40) + 1
		case p >= 100 && p <= 107:
			a.bg = int32(p-100+8) + 1
		case p == 49:
			a.bg = 0
		case p == 38 || p == 48:
			c, used := extColour(ps[i+1:])
			i += used
			if p == 38 {
				a.fg = c
			} else {
				a.bg = c
			}
		}
	}
	return a
}

// extColour reads "5;n" or "2;r;g;b" after SGR 38 or 48.
func extColour(ps []int) (int32, int) {
	switch {
	case len(ps) >= 2 && ps[0] == 5:
		return int32(min(ps[1], 255)) + 1, 2
	case len(ps) >= 4 && ps[0] == 2:
		r, g, b := min(ps[1], 255), min(ps[2], 255), min(ps[3], 255)
		return int32(1<<24 | r<<16 | g<<8 | b), 4
	}
	return 0, len(ps)
}

// code is the SGR sequence that sets a from the default rendition.
func (a attr) code() string {
	parts := []string{"0"}
	for bit, n := range flagSGR {
		if a.flags&(1<<bit) != 0 {
			parts = append(parts, strconv.Itoa(n))
		}
	}
	for i, c := range []int32{a.fg, a.bg} {
		base := 38 + 10*i
		switch {
		case c == 0:
		case c&(1<<24) != 0:
			parts = append(parts, strconv.Itoa(base), "2", strconv.Itoa(int(c>>16&0xff)),
				strconv.Itoa(int(c>>8&0xff)), strconv.Itoa(int(c&0xff)))
		case c <= 8:
			parts = append(parts, strconv.Itoa(base-8+int(c)-1))
		case c <= 16:
			parts = append(parts, strconv.Itoa(base+52+int(c)-9))
		default:
			parts = append(parts, strconv.Itoa(base), "5", strconv.Itoa(int(c)-1))
		}
	}
	return "\x1b[" + strings.Join(parts, ";") + "m"
}

// Paint is what draws the screen on a terminal at least as large: clear,
// each row's text and colours, then the cursor where the machine left it
// and its rendition. It holds only text, SGR, CUP and ED.
func (t *Term) Paint() []byte {
	var b strings.Builder
	b.WriteString("\x1b[0m\x1b[H\x1b[2J")
	for y, row := range t.screen() {
		end := len(row)
		for end > 0 && row[end-1] == (cell{}) {
			end--
		}
		if end == 0 {
			continue
		}
		b.WriteString("\x1b[" + strconv.Itoa(y+1) + ";1H")
		cur := attr{}
		for _, c := range row[:end] {
			if c.a != cur {
				b.WriteString(c.a.code())
				cur = c.a
			}
			if c.r == 0 {
				b.WriteByte(' ')
			} else {
				b.WriteRune(c.r)
			}
		}
		if cur != (attr{}) {
			b.WriteString("\x1b[0m")
		}
	}
	b.WriteString("\x1b[" + strconv.Itoa(t.y+1) + ";" + strconv.Itoa(t.x+1) + "H")
	if t.cur != (attr{}) {
		b.WriteString(t.cur.code())
	}
	return []byte(b.String())
}

// Text is the screen as plain text, one line per row without trailing
// blanks (for tests and people).
func (t *Term) Text() string {
	var lines []string
	for _, row := range t.screen() {
		var b strings.Builder
		for _, c := range row {
			if c.r == 0 {
				b.WriteByte(' ')
			} else {
				b.WriteRune(c.r)
			}
		}
		lines = append(lines, strings.TrimRight(b.String(), " "))
	}
	return strings.Join(lines, "\n")
}
