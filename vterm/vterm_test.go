package vterm

import (
	"bytes"
	"strings"
	"testing"

	"consoled/termsafe"
)

func run(rows, cols int, s string) *Term {
	t := New(rows, cols)
	t.Write([]byte(s))
	return t
}

func TestScreen(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		full           bool
	}{
		{"lines", "a\r\nb\r\nc", "a\nb\nc\n\n", false},
		{"scroll", "1\r\n2\r\n3\r\n4\r\n5\r\n6", "3\n4\n5\n6\n", false},
		{"cup", "\x1b[2J\x1b[2;3HX\x1b[4;1HY\x1b[1;4HZ", "   Z\n  X\n\nY\n", true},
		{"wrap", "abcdefghij", "abcdefgh\nij\n\n\n", false},
		{"erase line", "hello\x1b[3D\x1b[K", "he\n\n\n\n", false},
		{"erase below", "aaa\r\nbbb\r\nccc\x1b[2;2H\x1b[J", "aaa\nb\n\n\n", true},
		{"insert delete", "abcdef\r\x1b[2C\x1b[2@XY\x1b[1P", "abXYdef\n\n\n\n", false},
		{"backspace tab", "ab\bc\td", "ac     d\n\n\n\n", false},
		{"alt screen", "sh$ top\r\n\x1b[?1049h\x1b[H\x1b[2Jtop 10\x1b[?1049l", "sh$ top\n\n\n\n", false},
		{"in alt screen", "sh$ top\r\n\x1b[?1049h\x1b[Htop 10", "top 10\n\n\n\n", true},
		{"scroll region", "\x1b[2;3r\x1b[2;1Ha\r\nb\r\nc", "\nb\nc\n\n", true},
		{"reverse index", "\x1b[Ha\x1bMb", " b\na\n\n\n", true}, // RI at the top scrolls down
		{"osc and dcs skipped", "\x1b]0;title\x07a\x1bP1$r\x1b\\b", "ab\n\n\n\n", false},
		{"queries ignored", "a\x1b[6n\x1b[c\x1b[>c\x05b", "ab\n\n\n\n", false},
		{"utf-8", "┌──┐\r\n│é │", "┌──┐\n│é │\n\n\n", false},
		{"addressed, then a screenful of lines", "\x1b[2J\x1b[HMENU\r\n1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n7", "4\n5\n6\n7\n", false},
		{"saved cursor", "ab\x1b7\x1b[3;1Hx\x1b8c", "abc\n\nx\n\n", true},
		{"reset", "junk\x1bcok", "ok\n\n\n\n", false},
	} {
		term := run(4, 8, tc.in)
		if got := term.Text() + "\n"; got != tc.want+"\n" && got != tc.want {
			t.Errorf("%s: screen\n%q\nwant\n%q", tc.name, got, tc.want)
		}
		if term.FullScreen() != tc.full {
			t.Errorf("%s: FullScreen %v", tc.name, !tc.full)
		}
	}
}

// Painting the screen on a fresh terminal gives the same screen, colours
// included; the painting holds nothing a terminal answers.
func TestPaintRoundTrip(t *testing.T) {
	menu := "\x1b[2J\x1b[1;1H\x1b[44;37m Setup Utility \x1b[0m\x1b[3;3H\x1b[1mBoot\x1b[0m  \x1b[7mExit\x1b[0m" +
		"\x1b[5;1H\x1b[38;5;196mred\x1b[38;2;1;2;3m rgb\x1b[0m\x1b[92m bright\x1b[4;6H"
	a := run(6, 20, menu)
	p := a.Paint()
	if !bytes.Equal(termsafe.Replay(p), p) {
		t.Errorf("painting holds what Replay removes:\n%q", p)
	}
	b := run(6, 20, string(p))
	if a.Text() != b.Text() {
		t.Errorf("repainted text differs:\n%s\n---\n%s", a.Text(), b.Text())
	}
	for y := range a.main {
		for x := range a.main[y] {
			if norm(a.main[y][x]) != norm(b.main[y][x]) {
				t.Fatalf("cell %d,%d: %+v, repainted %+v", y, x, a.main[y][x], b.main[y][x])
			}
		}
	}
	if a.x != b.x || a.y != b.y || a.cur != b.cur {
		t.Errorf("cursor %d,%d %+v; repainted %d,%d %+v", a.x, a.y, a.cur, b.x, b.y, b.cur)
	}
	if !strings.Contains(a.Text(), "Setup Utility") {
		t.Errorf("screen:\n%s", a.Text())
	}
}

func TestBounds(t *testing.T) {
	term := New(100000, -5)
	if term.rows != MaxRows || term.cols != 1 {
		t.Errorf("size %dx%d", term.rows, term.cols)
	}
	term = run(3, 3, "\x1b[999;999Hx\x1b[999A\x1b[999Dy\x1b[99999999999999999999L\x1b[99@\x1b[99P\x1b[99X")
	if term.Text() != "y\n\n  x" && term.Text() != "\n\n" && !strings.Contains(term.Text(), "y") {
		t.Errorf("screen %q", term.Text())
	}
}

func FuzzTerm(f *testing.F) {
	for _, s := range []string{"\x1b[2J\x1b[5;5Hmenu", "\x1b[?1049h\x1b[2;3r\x1bM\x1b[3L", "\x1b]0;x\x07\x1b[38;2;1;2;3m", "┌─┐\r\n\x1b[99P"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		term := run(5, 10, s)
		p := term.Paint()
		if !bytes.Equal(termsafe.Replay(p), p) {
			t.Fatalf("painting of %q holds what Replay removes: %q", s, p)
		}
		again := run(5, 10, string(p))
		if again.Text() != term.Text() {
			t.Fatalf("repainting %q:\n%q\nvs\n%q", s, again.Text(), term.Text())
		}
	})
}

// norm takes a blank cell and a space of the default rendition as one.
func norm(c cell) cell {
	if c.r == ' ' {
		c.r = 0
	}
	return c
}
