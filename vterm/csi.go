package vterm

// param is parameter i, or def when it is absent or zero.
func param(ps []int, i, def int) int {
	if i < len(ps) && ps[i] > 0 {
		return ps[i]
	}
	return def
}

// csi runs a control sequence with final byte f.
func (t *Term) csi(f, private byte, ps []int) {
	if private == '?' {
		if f == 'h' || f == 'l' {
			for _, m := range ps {
				t.decMode(m, f == 'h')
			}
		}
		return
	}
	if private != 0 {
		return // DA2, xterm key modifiers, ...: nothing on the screen
	}
	n := param(ps, 0, 1)
	switch f {
	case 'A':
		t.moveTo(t.x, max(t.y-n, min(t.top, t.y)))
	case 'B', 'e':
		t.moveTo(t.x, min(t.y+n, max(t.bot, t.y)))
	case 'C', 'a':
		t.moveTo(t.x+n, t.y)
	case 'D':
		t.moveTo(t.x-n, t.y)
	case 'E':
		t.moveTo(0, t.y+n)
	case 'F':
		t.moveTo(0, t.y-n)
	case 'G', '`':
		t.moveTo(n-1, t.y)
	case 'H', 'f':
		t.moveTo(param(ps, 1, 1)-1, n-1)
		t.address()
	case 'd':
		t.moveTo(t.x, n-1)
		t.address()
	case 'J':
		t.eraseDisplay(param(ps, 0, 0))
	case 'K':
		switch param(ps, 0, 0) {
		case 0:
			t.erase(t.y, t.x, t.cols)
		case 1:
			t.erase(t.y, 0, t.x+1)
		case 2:
			t.erase(t.y, 0, t.cols)
		}
	case 'X':
		t.erase(t.y, t.x, t.x+n)
	case '@':
		row := t.screen()[t.y]
		n = min(n, t.cols-t.x)
		copy(row[t.x+n:], row[t.x:t.cols-n])
		t.erase(t.y, t.x, t.x+n)
	case 'P':
		row := t.screen()[t.y]
		n = min(n, t.cols-t.x)
		copy(row[t.x:], row[t.x+n:])
		t.erase(t.y, t.cols-n, t.cols)
	case 'L':
		if t.y >= t.top && t.y <= t.bot {
			t.scrollDown(t.y, t.bot, n)
		}
	case 'M':
		if t.y >= t.top && t.y <= t.bot {
			t.scrollUp(t.y, t.bot, n)
		}
	case 'S':
		t.scrollUp(t.top, t.bot, n)
	case 'T':
		t.scrollDown(t.top, t.bot, n)
	case 'm':
		t.cur = t.cur.sgr(ps)
	case 'r':
		top, bot := param(ps, 0, 1)-1, param(ps, 1, t.rows)-1
		if top < bot && bot < t.rows {
			t.top, t.bot = top, bot
			t.moveTo(0, 0)
			t.address()
		}
	case 's':
		t.saved.x, t.saved.y, t.saved.a = t.x, t.y, t.cur
	case 'u':
		t.moveTo(t.saved.x, t.saved.y)
		t.cur = t.saved.a
	}
}

// eraseDisplay is ED: 0 below, 1 above, 2 (and 3) all.
func (t *Term) eraseDisplay(mode int) {
	switch mode {
	case 0:
		t.erase(t.y, t.x, t.cols)
		for y := t.y + 1; y < t.rows; y++ {
			t.erase(y, 0, t.cols)
		}
	case 1:
		for y := 0; y < t.y; y++ {
			t.erase(y, 0, t.cols)
		}
		t.erase(t.y, 0, t.x+1)
	default:
		for y := 0; y < t.rows; y++ {
			t.erase(y, 0, t.cols)
		}
		t.address()
	}
}

// decMode sets or resets a DEC private mode.
func (t *Term) decMode(m int, on bool) {
	switch m {
	case 7:
		t.noWrap = !on
	case 47, 1047, 1049:
		t.setAlt(on)
	}
}
