package vterm

// parser is the escape sequence state machine (after ECMA-48 and the DEC
// VT500 parser of vt100.net, reduced to what a screen needs).
type parser struct {
	state   int
	params  []int
	cur     int  // the parameter being read, -1 for none yet
	private byte // '?', '>', '=' or '<' after CSI; 0 for none
	inter   byte // an intermediate byte (0x20-0x2f) of the sequence
	strEsc  bool // ESC seen inside a control string (ST may follow)
	utf     []byte
	utfWant int
	tooLong bool
}

const (
	stGround = iota
	stEsc
	stEscInter // ESC followed by an intermediate: one more byte (charset designations)
	stCSI
	stString // OSC, DCS, SOS, PM, APC: skipped to BEL or ST
)

const maxParams = 16

func (p *parser) feed(t *Term, b byte) {
	if p.state == stString {
		switch {
		case b == 0x07 || p.strEsc && b == '\\':
			p.state, p.strEsc = stGround, false
		case b == 0x1b:
			p.strEsc = true
		case b == 0x18 || b == 0x1a:
			p.state, p.strEsc = stGround, false
		default:
			p.strEsc = false
		}
		return
	}
	if b < 0x20 || b == 0x7f {
		p.control(t, b)
		return
	}
	switch p.state {
	case stGround:
		p.text(t, b)
	case stEsc:
		p.escape(t, b)
	case stEscInter:
		p.state = stGround
	case stCSI:
		p.csiByte(t, b)
	}
}

// control runs a C0 control; ESC, CAN and SUB also change the state.
func (p *parser) control(t *Term, b byte) {
	p.utf, p.utfWant = p.utf[:0], 0
	switch b {
	case 0x1b:
		p.state = stEsc
	case 0x18, 0x1a:
		p.state = stGround
	case '\r':
		t.x, t.wrapNext = 0, false
	case '\n', 0x0b, 0x0c:
		t.lineFeed()
	case '\b':
		if t.x > 0 {
			t.x--
		}
		t.wrapNext = false
	case '\t':
		t.x = min((t.x/8+1)*8, t.cols-1)
	}
}

// text collects UTF-8 and puts each character.
func (p *parser) text(t *Term, b byte) {
	if p.utfWant == 0 {
		switch {
		case b < 0x80:
			t.put(rune(b))
			return
		case b&0xe0 == 0xc0:
			p.utfWant = 2
		case b&0xf0 == 0xe0:
			p.utfWant = 3
		case b&0xf8 == 0xf0:
			p.utfWant = 4
		default:
			if b >= 0xa0 {
				t.put(rune(b)) // an 8-bit charset
			}
			return
		}
		p.utf = append(p.utf[:0], b)
		return
	}
	if b&0xc0 != 0x80 { // broken sequence: start again from b
		p.utf, p.utfWant = p.utf[:0], 0
		p.text(t, b)
		return
	}
	p.utf = append(p.utf, b)
	if len(p.utf) == p.utfWant {
		t.put(decodeRune(p.utf))
		p.utf, p.utfWant = p.utf[:0], 0
	}
}

func (p *parser) escape(t *Term, b byte) {
	p.state = stGround
	switch {
	case b == '[':
		p.state, p.params, p.cur, p.private, p.inter, p.tooLong = stCSI, p.params[:0], -1, 0, 0, false
	case b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_':
		p.state = stString
	case b >= 0x20 && b <= 0x2f:
		p.state = stEscInter
	case b == '7':
		t.saved.x, t.saved.y, t.saved.a = t.x, t.y, t.cur
	case b == '8':
		t.moveTo(t.saved.x, t.saved.y)
		t.cur = t.saved.a
	case b == 'D':
		t.lineFeed()
	case b == 'E':
		t.x = 0
		t.lineFeed()
	case b == 'M':
		t.reverseIndex()
	case b == 'c':
		t.reset()
	}
}

func (p *parser) csiByte(t *Term, b byte) {
	switch {
	case b >= '0' && b <= '9':
		if p.cur < 0 {
			p.cur = 0
		}
		if p.cur < 100000 {
			p.cur = p.cur*10 + int(b-'0')
		}
	case b == ';' || b == ':':
		p.push()
		p.cur = 0
	case b >= '<' && b <= '?':
		p.private = b
	case b >= 0x20 && b <= 0x2f:
		p.inter = b
	case b >= 0x40 && b <= 0x7e:
		if p.cur >= 0 {
			p.push()
		}
		p.state = stGround
		if p.inter == 0 && !p.tooLong {
			t.csi(b, p.private, p.params)
		}
	default:
		p.state = stGround
	}
}

func (p *parser) push() {
	if len(p.params) >= maxParams {
		p.tooLong = true
		return
	}
	p.params = append(p.params, max(p.cur, 0))
}
