package telnet

import (
	"bytes"
	"strings"
	"testing"
)

func TestDecodeStripsIACAndAnswers(t *testing.T) {
	var c Codec
	start := c.Start()
	want := []byte{IAC, DO, OptBinary, IAC, WILL, OptBinary, IAC, DO, OptSGA, IAC, WILL, OptSGA}
	if !bytes.Equal(start, want) {
		t.Fatalf("Start = %v, want %v", start, want)
	}
	// What qemu's telnet server sends first, then data with an escaped 0xFF,
	// a subnegotiation and a NOP inside it.
	in := []byte{IAC, WILL, OptEcho, IAC, WILL, OptSGA, IAC, WILL, OptBinary, IAC, DO, OptBinary,
		'h', 'i', IAC, IAC, '!', IAC, SB, 24, 1, IAC, IAC, IAC, SE, IAC, NOP, '\r', '\n',
		IAC, DO, 31, IAC, WILL, 5}
	data, reply := c.Decode(in, nil, nil)
	if want := []byte{'h', 'i', 0xFF, '!', '\r', '\n'}; !bytes.Equal(data, want) {
		t.Errorf("data = %q, want %q", data, want)
	}
	// ECHO is accepted (DO ECHO); SGA and BINARY were our own requests, so
	// their WILL/DO are acknowledgements and get no answer; NAWS (31) is
	// refused with WONT and STATUS (5) with DONT.
	if want := []byte{IAC, DO, OptEcho, IAC, WONT, 31, IAC, DONT, 5}; !bytes.Equal(reply, want) {
		t.Errorf("reply = %v, want %v", reply, want)
	}
	// Repeating an agreed option must not produce another answer (no loops).
	if _, reply := c.Decode([]byte{IAC, WILL, OptEcho, IAC, DO, OptBinary}, nil, nil); len(reply) != 0 {
		t.Errorf("acknowledged option answered again: %v", reply)
	}
}

func TestDecodeSplitAcrossReads(t *testing.T) {
	var c Codec
	c.Start()
	in := []byte{'a', IAC, IAC, 'b', IAC, SB, 1, 2, IAC, SE, 'c', IAC, WILL, OptBinary, 'd'}
	var data []byte
	for _, b := range in {
		data, _ = c.Decode([]byte{b}, data, nil)
	}
	if want := "a\xffbcd"; string(data) != want {
		t.Errorf("byte-at-a-time decode = %q, want %q", data, want)
	}
}

func TestNonBinaryCR(t *testing.T) {
	var c Codec // no negotiation: NVT mode both ways
	data, _ := c.Decode([]byte("a\r\x00b\r\nc"), nil, nil)
	if string(data) != "a\rb\r\nc" {
		t.Errorf("CR NUL not folded: %q", data)
	}
	if got := c.Encode(nil, []byte("x\ry\r\n\r")); string(got) != "x\r\x00y\r\n\r\x00" {
		t.Errorf("Encode in NVT mode = %q", got)
	}
}

func TestEncodeBinary(t *testing.T) {
	var c Codec
	c.Start()
	c.Decode([]byte{IAC, DO, OptBinary}, nil, nil)
	got := c.Encode(nil, []byte{'a', 0xFF, '\r', 0})
	if want := []byte{'a', 0xFF, 0xFF, '\r', 0}; !bytes.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
}

// FuzzCodec checks that decoding never panics, never yields more data than
// it was given, and that Encode then Decode gives back the original bytes.
func FuzzCodec(f *testing.F) {
	f.Add([]byte{IAC, WILL, 1, 'x', IAC, IAC}, []byte("hello\xff"))
	f.Add([]byte{IAC, SB, IAC, IAC, IAC, SE, IAC}, []byte{0xFF, 0xFF, '\r'})
	f.Add([]byte("login:\r\x00\r\n\x00a\r\r\x00\x00"), []byte("\r\x00"))
	f.Fuzz(func(t *testing.T, wire, payload []byte) {
		var c Codec
		c.Start()
		data, _ := c.Decode(wire, nil, nil)
		if len(data) > len(wire) {
			t.Fatalf("decoded %d bytes from %d", len(data), len(wire))
		}
		// In place gives the same result.
		var c2 Codec
		c2.Start()
		buf := append([]byte(nil), wire...)
		inPlace, _ := c2.Decode(buf, buf[:0], nil)
		if !bytes.Equal(inPlace, data) {
			t.Fatalf("in-place decode %q, want %q", inPlace, data)
		}
		// A byte at a time (the slow path, and state across calls) gives
		// the same result too.
		var c3 Codec
		c3.Start()
		var bytewise []byte
		for i := range wire {
			bytewise, _ = c3.Decode(wire[i:i+1], bytewise, nil)
		}
		if !bytes.Equal(bytewise, data) {
			t.Fatalf("byte-at-a-time decode %q, want %q", bytewise, data)
		}
		// Round trip through a fresh pair in binary mode.
		var tx, rx Codec
		tx.Start()
		rx.Start()
		tx.Decode([]byte{IAC, DO, OptBinary}, nil, nil)
		rx.Decode([]byte{IAC, WILL, OptBinary}, nil, nil)
		got, _ := rx.Decode(tx.Encode(nil, payload), nil, nil)
		if !bytes.Equal(got, payload) {
			t.Fatalf("round trip: got %q, want %q", got, payload)
		}
	})
}

// In NVT mode (the peer never agreed to BINARY) a NUL after CR is padding
// and dropped; any other NUL is data. Plain runs take the fast path.
func TestNVTCarriageReturnNul(t *testing.T) {
	var c Codec
	c.Start()
	in := []byte("login:\r\x00\r\n\x00a\r\r\x00\x00 " + strings.Repeat("x", 100) + "\r")
	got, _ := c.Decode(in, nil, nil)
	more, _ := c.Decode([]byte("\x00b"), nil, nil) // the NUL after a CR that ended the last read
	want := "login:\r\r\n\x00a\r\r\x00 " + strings.Repeat("x", 100) + "\r"
	if string(got) != want || string(more) != "b" {
		t.Fatalf("decoded %q then %q, want %q then %q", got, more, want, "b")
	}
}
