// Package escape parses the escape commands people type inside an
// interactive console session (^Ec. to disconnect, ^Ecl0 for BREAK, ...),
// for every transport that offers them (frontend/sshd, frontend/web).
package escape

// Parser splits an interactive client's keystrokes into data for the
// console and escape commands, conserver style: with the prefix "^Ec",
// "^Ec." is command '.', "^Ecl0" is command 'l' with argument '0', and the
// prefix typed twice is a literal prefix[0]. A partial prefix followed by
// anything else is passed through unchanged. State carries across Feed
// calls, so a sequence split over reads works the same.
type Parser struct {
	prefix  []byte
	state   int
	matched int  // bytes of prefix matched so far (stNormal, stAgain)
	argCmd  byte // the command waiting for its argument (stArg)
	out     []byte
}

const (
	stNormal = iota // matching the prefix against data
	stCmd           // prefix seen: next byte is the command
	stArg           // a command that takes an argument ('l', '!') seen: next byte is it
	stAgain         // prefix seen, then prefix[0]: matching the prefix again
)

// argCommands take one argument byte after the command byte.
const argCommands = "l!"

// NewParser returns a parser for prefix (at least one byte).
func NewParser(prefix []byte) *Parser {
	return &Parser{prefix: append([]byte(nil), prefix...)}
}

// Feed parses p. data receives bytes for the console (the slice is only
// valid during the call); cmd receives each escape command and its argument
// (0 for commands without one). Data before a command is always delivered
// before the command.
func (e *Parser) Feed(p []byte, data func([]byte), cmd func(c, arg byte)) {
	e.out = e.out[:0]
	flush := func() {
		if len(e.out) > 0 {
			data(e.out)
			e.out = e.out[:0]
		}
	}
	for i := 0; i < len(p); i++ {
		b := p[i]
		switch e.state {
		case stNormal:
			if b == e.prefix[e.matched] {
				e.matched++
				if e.matched == len(e.prefix) {
					e.matched, e.state = 0, stCmd
				}
				continue
			}
			if e.matched > 0 {
				// Not an escape after all: pass the partial prefix, then look
				// at b afresh (it may start a prefix itself).
				e.out = append(e.out, e.prefix[:e.matched]...)
				e.matched = 0
				i--
				continue
			}
			e.out = append(e.out, b)
		case stCmd:
			switch {
			case b == e.prefix[0] && len(e.prefix) == 1:
				e.out = append(e.out, b)
				e.state = stNormal
			case b == e.prefix[0]:
				e.matched, e.state = 1, stAgain
			case indexByte(argCommands, b):
				e.state, e.argCmd = stArg, b
			default:
				flush()
				cmd(b, 0)
				e.state = stNormal
			}
		case stArg:
			flush()
			cmd(e.argCmd, b)
			e.state = stNormal
		case stAgain:
			if b == e.prefix[e.matched] {
				e.matched++
				if e.matched == len(e.prefix) {
					e.out = append(e.out, e.prefix[0])
					e.matched, e.state = 0, stNormal
				}
				continue
			}
			// prefix, then a broken second prefix: report the command byte
			// that stood after the first prefix and rescan from b.
			flush()
			cmd(e.prefix[0], 0)
			e.matched, e.state = 0, stNormal
			i--
		}
	}
	flush()
}

func indexByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

// Caret shows bytes as people type them, in caret notation: {0x05, 'c'}
// is "^Ec", DEL is "^?".
func Caret(b []byte) string {
	var out []byte
	for _, c := range b {
		switch {
		case c < 0x20:
			out = append(out, '^', c+'@')
		case c == 0x7f:
			out = append(out, '^', '?')
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

// PowerKeys maps the key after the power escape (^Ec! KEY) to a power
// action; the SSH and web frontends share it.
var PowerKeys = map[byte]string{'s': "status", '1': "on", '0': "off", 'c': "cycle", 'r': "reset"}
