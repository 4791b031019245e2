// Package termsafe keeps a person's terminal from speaking for them.
//
// What a machine printed can hold terminal queries: busybox ash ends every
// prompt with ESC[6n ("where is the cursor?"), and a terminal shown it
// answers ESC[5;6R on its input, as if its user had typed it. Live, that is
// the machine asking the writer's terminal, and the answer is meant for it.
// Replayed from the log, the question is stale and the answer would go to
// the machine as typing. Replay removes from such text everything that
// could make a terminal answer, report on itself or change its modes, and
// keeps the text, its colours and simple cursor movement. StripReports
// recognises the answers in what a terminal sends, so that someone who may
// not type is not taken to have typed when their terminal answers a live
// query.
package termsafe

import "unicode/utf8"

const (
	bel = 0x07
	esc = 0x1b
	can = 0x18
	sub = 0x1a
)

// Replay returns text a machine printed, made safe to show again: kept are
// printable text (UTF-8, or bytes 0xA0-0xFF of an 8-bit charset), tab, CR,
// LF, backspace, SGR (colours, bold, ...), and the CSI sequences that move
// the cursor or erase and insert in place (CUU..CUP, HVP, VPA, HPA, HPR,
// VPR, ED 0-2, EL, ECH, ICH, DCH, IL, DL). Everything else is removed:
// other control characters (ENQ, which asks for the answerback, included),
// C1 controls in 8 bits and in UTF-8, every other escape sequence (device
// status and attribute queries, window operations and reports, mode
// changes such as mouse or focus reporting, DECID, reset), and whole
// control strings (OSC: titles, colour and clipboard queries; DCS: DECRQSS,
// XTGETTCAP; SOS, PM, APC). A sequence cut off at the end of b is removed,
// so what follows the result starts in a terminal's ground state.
func Replay(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == esc:
			n, keep := escape(b[i:])
			if keep {
				out = append(out, b[i:i+n]...)
			}
			i += n
		case c < 0x20 || c == 0x7f:
			if c == '\t' || c == '\n' || c == '\r' || c == '\b' {
				out = append(out, c)
			}
			i++
		case c < 0x80:
			out = append(out, c)
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			switch {
			case r == utf8.RuneError && n == 1:
				if c >= 0xa0 { // 0x80-0x9f alone are 8-bit C1 controls (0x9b is CSI)
					out = append(out, c)
				}
			case r >= 0x80 && r <= 0x9f: // a C1 control written in UTF-8
			default:
				out = append(out, b[i:i+n]...)
			}
			i += n
		}
	}
	return out
}

// escape measures the escape sequence at the start of b (b[0] is ESC) and
// says whether Replay keeps it.
func escape(b []byte) (n int, keep bool) {
	if len(b) < 2 {
		return len(b), false
	}
	switch c := b[1]; {
	case c == '[':
		return csi(b)
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_': // OSC, DCS, SOS, PM, APC
		return stringEnd(b, 2), false
	case c >= 0x20 && c <= 0x2f: // intermediates, then a final byte (charset designations, DECALN, ...)
		i := 2
		for i < len(b) && b[i] >= 0x20 && b[i] <= 0x2f {
			i++
		}
		if i < len(b) && b[i] >= 0x30 && b[i] <= 0x7e {
			i++
		}
		return i, false
	case c >= 0x30 && c <= 0x7e: // ESC Z (DECID answers like DA), ESC c (reset), ESC 7, ESC =, ...
		return 2, false
	default: // ESC then a control or a non-ASCII byte: the byte is read on its own
		return 1, false
	}
}

// stringEnd is the length of the control string at b whose body starts at
// i: through its terminator (BEL or ST = ESC \), through a CAN or SUB that
// aborts it, up to an ESC that starts something else, or all of b.
func stringEnd(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch b[i] {
		case bel, can, sub:
			return i + 1
		case esc:
			if i+1 < len(b) && b[i+1] == '\\' {
				return i + 2
			}
			return i
		}
	}
	return len(b)
}

// csi measures the CSI sequence at b (ESC [ parameters intermediates
// final) and says whether Replay keeps it.
func csi(b []byte) (n int, keep bool) {
	i := 2
	for i < len(b) && b[i] >= 0x30 && b[i] <= 0x3f {
		i++
	}
	params := b[2:i]
	inter := i
	for i < len(b) && b[i] >= 0x20 && b[i] <= 0x2f {
		i++
	}
	if i >= len(b) {
		return len(b), false // cut off
	}
	if f := b[i]; f < 0x40 || f > 0x7e {
		return i, false // broken by a control byte, which is read on its own
	}
	return i + 1, i == inter && safeCSI(params, b[i])
}

// safeCSI says whether a CSI sequence with these parameters (no
// intermediates) and final byte only draws: it cannot make a terminal
// answer or change a mode.
func safeCSI(params []byte, final byte) bool {
	for _, c := range params {
		if !(c >= '0' && c <= '9' || c == ';' || c == ':') {
			return false // private parameters (?, >, =, <): modes, xterm queries
		}
	}
	switch final {
	case 'm': // SGR
		return true
	case 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'f', 'd', '`', 'a', 'e': // cursor movement
		return true
	case 'K', 'X', '@', 'P', 'L', 'M': // erase, insert, delete in place
		return true
	case 'J': // erase in display, but not the scrollback (3)
		p := string(params)
		return p == "" || p == "0" || p == "1" || p == "2"
	}
	return false
}
