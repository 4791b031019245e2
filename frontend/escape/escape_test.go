package escape

import (
	"bytes"
	"fmt"
	"testing"
)

type parsed struct {
	data []byte
	cmds []string
	seq  []string // data and commands in order
}

func feed(e *Parser, chunks ...[]byte) parsed {
	var p parsed
	for _, c := range chunks {
		e.Feed(c, func(b []byte) {
			p.data = append(p.data, b...)
			p.seq = append(p.seq, "d:"+string(b))
		}, func(c, arg byte) {
			s := string(c)
			if arg != 0 {
				s += string(arg)
			}
			p.cmds = append(p.cmds, s)
			p.seq = append(p.seq, "c:"+s)
		})
	}
	return p
}

func TestEscapeParser(t *testing.T) {
	esc := []byte{0x05, 'c'} // ^Ec
	cases := []struct {
		in       string
		wantData string
		wantCmds string
	}{
		{"hello\r", "hello\r", ""},
		{"ls\x05c.", "ls", "."},
		{"\x05cl0h", "h", "l0"},
		{"\x05c?", "", "?"},
		{"a\x05xb", "a\x05xb", ""},    // ^E then not 'c': passed through
		{"\x05\x05c.", "\x05", "."},   // a lone ^E, then an escape
		{"\x05c\x05c", "\x05", ""},    // prefix twice: literal ^E
		{"\x05c\x05cz", "\x05z", ""},  // ...and typing goes on
		{"\x05c\x05x", "x", "\x05"},   // broken second prefix
		{"\x05cz", "", "z"},           // unknown command is still a command
		{"x\x05", "x", ""},            // trailing partial prefix is held
		{"\x05cl?\x05ca", "", "l?,a"}, // several commands
		{"\x05c.\x05c.", "", ".,."},   // two disconnects
		{"\xff\x00\x05\x00", "\xff\x00\x05\x00", ""},
	}
	for _, tc := range cases {
		p := feed(NewParser(esc), []byte(tc.in))
		cmds := ""
		for i, c := range p.cmds {
			if i > 0 {
				cmds += ","
			}
			cmds += c
		}
		if string(p.data) != tc.wantData || cmds != tc.wantCmds {
			t.Errorf("%q: data %q cmds %q; want %q %q", tc.in, p.data, cmds, tc.wantData, tc.wantCmds)
		}
	}
}

func TestEscapeOrder(t *testing.T) {
	p := feed(NewParser([]byte{0x05, 'c'}), []byte("ab\x05cl0cd"))
	if got := fmt.Sprint(p.seq); got != "[d:ab c:l0 d:cd]" {
		t.Errorf("order = %s", got)
	}
}

func TestEscapeSingleBytePrefix(t *testing.T) {
	p := feed(NewParser([]byte{0x1d}), []byte("a\x1d.b\x1d\x1dc"))
	if string(p.data) != "ab\x1dc" || len(p.cmds) != 1 || p.cmds[0] != "." {
		t.Errorf("data %q cmds %q", p.data, p.cmds)
	}
}

// FuzzEscapeParser: no panics; the result does not depend on how the input
// is split into reads; input without the prefix's first byte is passed
// through untouched.
func FuzzEscapeParser(f *testing.F) {
	f.Add([]byte{0x05, 'c'}, []byte("ab\x05cl0\x05c\x05c.x"), uint8(3))
	f.Add([]byte{0x1d}, []byte("\x1d\x1d\x1d."), uint8(1))
	f.Fuzz(func(t *testing.T, prefix, in []byte, split uint8) {
		if len(prefix) == 0 || len(prefix) > 4 {
			return
		}
		whole := feed(NewParser(prefix), in)
		var chunks [][]byte
		step := int(split%7) + 1
		for i := 0; i < len(in); i += step {
			chunks = append(chunks, in[i:min(i+step, len(in))])
		}
		parts := feed(NewParser(prefix), chunks...)
		if !bytes.Equal(whole.data, parts.data) || fmt.Sprint(whole.cmds) != fmt.Sprint(parts.cmds) {
			t.Fatalf("split by %d changed the result: %q %q vs %q %q", step, whole.data, whole.cmds, parts.data, parts.cmds)
		}
		if !bytes.Contains(in, prefix[:1]) && (!bytes.Equal(whole.data, in) || len(whole.cmds) != 0) {
			t.Fatalf("plain input altered: %q -> %q %q", in, whole.data, whole.cmds)
		}
	})
}

func TestCaret(t *testing.T) {
	for in, want := range map[string]string{"\x05c": "^Ec", "\x1d": "^]", "~\x7f": "~^?", "ab": "ab"} {
		if got := Caret([]byte(in)); got != want {
			t.Errorf("Caret(%q) = %q, want %q", in, got, want)
		}
	}
}
