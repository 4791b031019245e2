package telnet

import (
	"bytes"
	"sync/atomic"
)

// Telnet command and option bytes (RFC 854, 855, 856, 857, 858).
const (
	SE   = 240
	NOP  = 241
	DM   = 242
	BRK  = 243
	SB   = 250
	WILL = 251
	WONT = 252
	DO   = 253
	DONT = 254
	IAC  = 255

	OptBinary = 0
	OptEcho   = 1
	OptSGA    = 3
)

// decoder states
const (
	stData = iota
	stIAC
	stOpt
	stSB
	stSBIAC
)

// option states, a reduced form of RFC 1143's Q method: enough to never
// answer an acknowledgement and so never loop.
const (
	optNo = iota
	optYes
	optWantYes
)

// Codec is a telnet client protocol state machine. Decode strips every IAC
// sequence from the bytes the server sent and produces the replies to its
// option negotiation; Encode escapes bytes for sending. Decode must be called
// from one goroutine; Encode may run concurrently with it.
type Codec struct {
	state int
	cmd   byte
	sawCR bool

	him [4]uint8 // the options we care about (binary, echo, sga) that the server performs
	us  [4]uint8 // ... and that we perform
	// refused remembers other options we declined, so a server repeating
	// an offer is not answered again (no negotiation loops); rarely used.
	refused map[[2]byte]bool

	localBinary atomic.Bool // us[OptBinary] == optYes, read by Encode
}

// wantHim reports whether we ask the server to perform opt.
func wantHim(opt byte) bool { return opt == OptBinary || opt == OptSGA || opt == OptEcho }

// wantUs reports whether we agree to perform opt ourselves.
func wantUs(opt byte) bool { return opt == OptBinary || opt == OptSGA }

// Start returns the negotiation a client sends on connect: binary both ways
// and suppress-go-ahead; the server's echo is accepted when it offers it.
func (c *Codec) Start() []byte {
	out := make([]byte, 0, 12)
	for _, opt := range []byte{OptBinary, OptSGA} {
		c.him[opt] = optWantYes
		out = append(out, IAC, DO, opt)
		c.us[opt] = optWantYes
		out = append(out, IAC, WILL, opt)
	}
	return out
}

// Decode appends the data bytes of src to data and any negotiation replies to
// reply, and returns both. len(result data) never exceeds len(data)+len(src),
// so decoding into a buffer of len(src) free capacity does not allocate, and
// decoding in place (data = src[:0]) is safe: each byte is read before its
// slot can be written.
func (c *Codec) Decode(src, data, reply []byte) ([]byte, []byte) {
	for len(src) > 0 {
		if c.state == stData {
			// Fast path: copy plain data up to the next byte that needs a
			// look in one go: IAC, and in NVT (non-binary) mode also NUL,
			// which is dropped after a CR.
			n := bytes.IndexByte(src, IAC)
			if n < 0 {
				n = len(src)
			}
			binary := c.him[OptBinary] == optYes
			if !binary {
				if i := bytes.IndexByte(src[:n], 0); i >= 0 {
					n = i
				}
			}
			if n > 0 {
				data = append(data, src[:n]...)
				if !binary {
					c.sawCR = src[n-1] == '\r'
				}
				if src = src[n:]; len(src) == 0 {
					return data, reply
				}
			}
		}
		b := src[0]
		src = src[1:]
		switch c.state {
		case stData:
			if b == IAC {
				c.state = stIAC
				continue
			}
			data = c.dataByte(data, b)
		case stIAC:
			switch b {
			case IAC:
				data = c.dataByte(data, IAC)
				c.state = stData
			case WILL, WONT, DO, DONT:
				c.cmd = b
				c.state = stOpt
			case SB:
				c.state = stSB
			default: // NOP, DM, GA, BRK, AYT, ... carry no data for us
				c.state = stData
			}
		case stOpt:
			reply = c.negotiate(reply, c.cmd, b)
			c.state = stData
		case stSB:
			if b == IAC {
				c.state = stSBIAC
			}
		case stSBIAC:
			if b == SE {
				c.state = stData
			} else {
				c.state = stSB
			}
		}
	}
	return data, reply
}

// dataByte applies NVT CR handling when the server is not in binary mode:
// CR NUL means a bare CR.
func (c *Codec) dataByte(data []byte, b byte) []byte {
	if c.him[OptBinary] != optYes {
		if c.sawCR && b == 0 {
			c.sawCR = false
			return data
		}
		c.sawCR = b == '\r'
	}
	return append(data, b)
}

func (c *Codec) negotiate(reply []byte, cmd, opt byte) []byte {
	if int(opt) >= len(c.him) {
		// Not an option we use: decline offers and requests, once each.
		var answer byte
		switch cmd {
		case WILL:
			answer = DONT
		case DO:
			answer = WONT
		default:
			return reply // WONT/DONT of something never agreed: nothing to say
		}
		key := [2]byte{cmd, opt}
		if c.refused[key] {
			return reply
		}
		if c.refused == nil {
			c.refused = map[[2]byte]bool{}
		}
		c.refused[key] = true
		return append(reply, IAC, answer, opt)
	}
	switch cmd {
	case WILL:
		switch {
		case c.him[opt] == optWantYes:
			c.him[opt] = optYes
		case c.him[opt] == optYes:
		case wantHim(opt):
			c.him[opt] = optYes
			reply = append(reply, IAC, DO, opt)
		default:
			reply = append(reply, IAC, DONT, opt)
		}
	case WONT:
		if c.him[opt] == optYes {
			reply = append(reply, IAC, DONT, opt)
		}
		c.him[opt] = optNo
	case DO:
		switch {
		case c.us[opt] == optWantYes:
			c.us[opt] = optYes
		case c.us[opt] == optYes:
		case wantUs(opt):
			c.us[opt] = optYes
			reply = append(reply, IAC, WILL, opt)
		default:
			reply = append(reply, IAC, WONT, opt)
		}
	case DONT:
		if c.us[opt] == optYes {
			reply = append(reply, IAC, WONT, opt)
		}
		c.us[opt] = optNo
	}
	c.localBinary.Store(c.us[OptBinary] == optYes)
	return reply
}

// Encode appends src to dst escaped for the wire: 0xFF is doubled, and while
// we are not in binary mode a bare CR becomes CR NUL.
func (c *Codec) Encode(dst, src []byte) []byte {
	binary := c.localBinary.Load()
	for i, b := range src {
		dst = append(dst, b)
		switch {
		case b == IAC:
			dst = append(dst, IAC)
		case b == '\r' && !binary && (i+1 == len(src) || src[i+1] != '\n'):
			dst = append(dst, 0)
		}
	}
	return dst
}
