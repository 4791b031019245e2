package termsafe

// StripReports returns p, what a terminal sent, without the reports it
// sends of its own accord: cursor position (CPR, DECXCPR), device status,
// device attributes (DA1, DA2), mode reports (DECRPM), window reports,
// terminal parameters (DECREPTPARM), focus in/out, mouse reports (X10,
// SGR, urxvt), keyboard protocol flags, graphics attributes, and whole OSC,
// DCS and APC answers (colours, DECRQSS, XTGETTCAP, XTVERSION). Only whole
// reports are removed: an ESC ] that is Alt-] typed, with no terminator
// after it, stays. p is returned as is when it holds none.
//
// A few keys share a report's bytes (xterm's Shift-F3 is ESC[1;2R, like a
// CPR): call it only where such a key would be refused anyway.
func StripReports(p []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(p); {
		if p[i] != esc {
			i++
			continue
		}
		n := report(p[i:])
		if n == 0 {
			i++
			continue
		}
		out = append(out, p[last:i]...)
		i += n
		last = i
	}
	if last == 0 {
		return p
	}
	return append(out, p[last:]...)
}

// report is the length of the terminal report at the start of b (b[0] is
// ESC), or 0.
func report(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '[':
		return csiReport(b)
	case ']', 'P', '_': // OSC, DCS, APC answers, whole only
		for i := 2; i < len(b); i++ {
			switch {
			case b[i] == bel && b[1] == ']':
				return i + 1
			case b[i] == esc:
				if i+1 < len(b) && b[i+1] == '\\' {
					return i + 2
				}
				return 0
			}
		}
	}
	return 0
}

// csiReport is the length of the CSI report at b, or 0.
func csiReport(b []byte) int {
	if len(b) >= 6 && b[2] == 'M' { // X10 mouse: ESC [ M Cb Cx Cy
		return 6
	}
	i := 2
	var prefix byte
	if i < len(b) && (b[i] == '?' || b[i] == '>' || b[i] == '<' || b[i] == '=') {
		prefix = b[i]
		i++
	}
	start := i
	semis := 0
	for i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] == ';' || b[i] == ':') {
		if b[i] == ';' {
			semis++
		}
		i++
	}
	params := i > start
	dollar := i < len(b) && b[i] == '$'
	if dollar {
		i++
	}
	if i >= len(b) {
		return 0
	}
	n := i + 1
	switch f := b[i]; {
	case dollar:
		if f == 'y' && params { // DECRPM: ESC [ ? 2004 ; 2 $ y
			return n
		}
	case f == 'R': // CPR ESC [ 5 ; 6 R, DECXCPR ESC [ ? 5 ; 6 ; 1 R
		if (prefix == 0 || prefix == '?') && semis > 0 {
			return n
		}
	case f == 'c': // DA1 ESC [ ? 64 ; 1 c, DA2 ESC [ > 1 ; 10 ; 0 c
		if prefix == '?' || prefix == '>' {
			return n
		}
	case f == 'n': // DSR answers: ESC [ 0 n, ESC [ ? 997 ; 1 n
		if (prefix == 0 || prefix == '?') && params {
			return n
		}
	case f == 't' || f == 'x': // window reports ESC [ 8 ; 40 ; 120 t, DECREPTPARM
		if prefix == 0 && params {
			return n
		}
	case f == 'I' || f == 'O': // focus in, out
		if prefix == 0 && !params {
			return n
		}
	case f == 'M' || f == 'm': // SGR mouse ESC [ < 0 ; 10 ; 5 M, urxvt ESC [ 32 ; 10 ; 5 M
		if prefix == '<' && semis == 2 || prefix == 0 && f == 'M' && semis == 2 {
			return n
		}
	case f == 'u' || f == 'S': // keyboard protocol flags ESC [ ? 1 u, XTSMGRAPHICS ESC [ ? 1 ; 0 ; 256 S
		if prefix == '?' {
			return n
		}
	}
	return 0
}
