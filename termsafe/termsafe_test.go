package termsafe

import (
	"bytes"
	"os"
	"testing"
	"unicode/utf8"
)

func TestReplay(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"text", "uname -a\r\nLinux vm1 6.1.0\r\n\tcol\b", "uname -a\r\nLinux vm1 6.1.0\r\n\tcol\b"},
		{"UTF-8 and Latin-1 text", "größe 10 €\r\n\xe9t\xe9", "größe 10 €\r\n\xe9t\xe9"},
		{"colours", "\x1b[1;31mred\x1b[0m \x1b[38;5;208mo\x1b[38:2::255:0:0mx\x1b[m", "\x1b[1;31mred\x1b[0m \x1b[38;5;208mo\x1b[38:2::255:0:0mx\x1b[m"},
		{"cursor and erase", "\x1b[2K\r50%\x1b[3D\x1b[1;1H\x1b[2J\x1b[5G\x1b[2X\x1b[A", "\x1b[2K\r50%\x1b[3D\x1b[1;1H\x1b[2J\x1b[5G\x1b[2X\x1b[A"},
		{"ash prompt: cursor position query", "/ # \x1b[6n", "/ # "},
		{"device status", "a\x1b[5nb\x1b[?6nc\x1b[?15n", "abc"},
		{"device attributes", "\x1b[c\x1b[0c\x1b[>c\x1b[>0c\x1b[=c|", "|"},
		{"DECID", "a\x1bZb", "ab"},
		{"ENQ answerback", "a\x05b", "ab"},
		{"DECRQSS", "a\x1bP$qm\x1b\\b", "ab"},
		{"XTGETTCAP", "a\x1bP+q544e\x1b\\b", "ab"},
		{"XTVERSION", "a\x1b[>qb\x1b[>0q", "ab"},
		{"DECRQM", "a\x1b[?2004$pb\x1b[4$p", "ab"},
		{"DECREQTPARM", "a\x1b[1xb", "ab"},
		{"colour queries", "a\x1b]11;?\x07b\x1b]4;1;?\x1b\\c\x1b]10;?\x1b\\", "abc"},
		{"clipboard", "a\x1b]52;c;?\x07b\x1b]52;c;cm0gLXJmIC8K\x07", "ab"},
		{"title set and report", "a\x1b]0;evil\x07\x1b]2;title\x1b\\\x1b[21tb\x1b[20t", "ab"},
		{"window ops", "a\x1b[14tb\x1b[18t\x1b[13t\x1b[8;100;200t\x1b[2t", "ab"},
		{"modes", "\x1b[?1000h\x1b[?1004h\x1b[?2004h\x1b[?1049h\x1b[4h\x1b[?25l\x1b[20hx", "x"},
		{"keyboard protocol query", "\x1b[?ux\x1b[>1u\x1b[=1;1u", "x"},
		{"graphics query", "\x1b[?1;1;0Sx", "x"},
		{"media copy", "\x1b[5ix\x1b[i", "x"},
		{"scrollback erase and region", "\x1b[3Jx\x1b[1;10r", "x"},
		{"private SGR (modifyOtherKeys)", "\x1b[>4;2mx", "x"},
		{"intermediates", "\x1b[0 qx\x1b[!p\x1b[\"p", "x"},
		{"reset and charsets", "\x1bcx\x1b(0\x1b)B\x1b#8\x1b7\x1b8\x1b=\x1b>", "x"},
		{"DCS SOS PM APC", "a\x1bPq#0;2;0;0;0~-\x1b\\b\x1bXsos\x1b\\c\x1b^pm\x1b\\d\x1b_Gi=1;\x1b\\e", "abcde"},
		{"8-bit C1", "a\x9b6nb\x9d11;?\x9c\x90$qm\x9c", "a6nb11;?$qm"},
		{"C1 in UTF-8", "a\xc2\x9b6nb\xc2\x9d0;t\xc2\x9c", "a6nb0;t"},
		{"other controls", "a\x00\x07\x0e\x0f\x7f\x1ab", "ab"},
		{"cut off at the end", "ok\x1b[6", "ok"},
		{"cut off OSC at the end", "ok\x1b]0;title", "ok"},
		{"lone ESC at the end", "ok\x1b", "ok"},
		{"OSC ended by the next sequence", "\x1b]0;t\x1b[6nx", "x"},
		{"CSI broken by a control", "\x1b[6\x18n\x1b[1\r;31m", "n\r;31m"},
		{"ESC then a control", "\x1b\r\n", "\r\n"},
	} {
		if got := string(Replay([]byte(tc.in))); got != tc.want {
			t.Errorf("%s: Replay(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
		checkReplayed(t, tc.in)
	}
}

// The busybox prompt of the qemu guest, then a SysRq t task dump, as the
// guest printed them: the queries go, the text stays.
func TestReplayGuestOutput(t *testing.T) {
	in, err := os.ReadFile("testdata/ash-sysrq-t.log")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(in, []byte("/ # \x1b[6n")) {
		t.Fatal("the fixture has no ash prompt")
	}
	out := Replay(in)
	if want := bytes.ReplaceAll(in, []byte("\x1b[6n"), nil); !bytes.Equal(out, want) {
		t.Errorf("Replay changed more than the prompt's query")
	}
	checkReplayed(t, string(in))
}

// checkReplayed checks Replay's promises for in independently of how it
// parses: the result holds no control but tab, CR, LF, BS and ESC; every
// ESC starts a complete SGR or drawing CSI with plain parameters; no C1
// control in UTF-8; and replaying again changes nothing.
func checkReplayed(t *testing.T, in string) {
	t.Helper()
	out := Replay([]byte(in))
	for i := 0; i < len(out); {
		c := out[i]
		switch {
		case c == esc:
			j := i + 1
			if j >= len(out) || out[j] != '[' {
				t.Fatalf("Replay(%q) = %q: ESC at %d does not start a CSI", in, out, i)
			}
			j++
			for j < len(out) && (out[j] >= '0' && out[j] <= '9' || out[j] == ';' || out[j] == ':') {
				j++
			}
			if j >= len(out) || !bytes.ContainsRune([]byte("mABCDEFGHfd`aeKX@PLMJ"), rune(out[j])) {
				t.Fatalf("Replay(%q) = %q: sequence at %d is not SGR or drawing", in, out, i)
			}
			if out[j] == 'J' && bytes.Contains(out[i:j], []byte("3")) {
				t.Fatalf("Replay(%q) = %q: scrollback erase at %d", in, out, i)
			}
			i = j + 1
		case c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != '\b' || c == 0x7f:
			t.Fatalf("Replay(%q) = %q: control %#x at %d", in, out, c, i)
		case c >= 0x80:
			r, n := utf8.DecodeRune(out[i:])
			if r == utf8.RuneError && n == 1 && c <= 0x9f {
				t.Fatalf("Replay(%q) = %q: 8-bit C1 %#x at %d", in, out, c, i)
			}
			if r >= 0x80 && r <= 0x9f {
				t.Fatalf("Replay(%q) = %q: C1 control U+%04X at %d", in, out, r, i)
			}
			i += n
		default:
			i++
		}
	}
	if again := Replay(out); !bytes.Equal(again, out) {
		t.Fatalf("Replay is not idempotent on %q: %q then %q", in, out, again)
	}
}

func TestStripReports(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"typing", "ls -l\r", "ls -l\r"},
		{"cursor position", "\x1b[5;6R", ""},
		{"two answers and a key", "\x1b[5;6R\x1b[24;1Rx", "x"},
		{"DECXCPR", "\x1b[?5;6;1R", ""},
		{"device attributes", "\x1b[?64;1;2;6;9;15;18;21;22c\x1b[>41;371;0c", ""},
		{"device status", "\x1b[0n\x1b[?997;1n", ""},
		{"mode report", "\x1b[?2004;2$y", ""},
		{"window reports", "\x1b[8;40;120t\x1b[3;0;0t\x1b[1t", ""},
		{"DECREPTPARM", "\x1b[2;1;1;112;112;1;0x", ""},
		{"focus", "\x1b[I\x1b[O", ""},
		{"mouse", "\x1b[<0;10;5M\x1b[<0;10;5m\x1b[M !!\x1b[32;10;5M", ""},
		{"keyboard flags and graphics", "\x1b[?1u\x1b[?1;0;256S", ""},
		{"OSC colour answer", "\x1b]11;rgb:0000/0000/0000\x1b\\\x1b]10;rgb:ffff/ffff/ffff\x07", ""},
		{"DCS answers", "\x1bP1$r0;1m\x1b\\\x1bP>|XTerm(390)\x1b\\\x1bP1+r544e=787465726d\x1b\\", ""},
		{"APC answer", "\x1b_Gi=1;OK\x1b\\", ""},
		{"arrow keys stay", "\x1b[A\x1b[1;5C\x1bOA", "\x1b[A\x1b[1;5C\x1bOA"},
		{"function keys stay", "\x1b[15~\x1b[200~paste\x1b[201~\x1b[Z", "\x1b[15~\x1b[200~paste\x1b[201~\x1b[Z"},
		{"Alt-] and Alt-P typed stay", "\x1b]x\x1bPy", "\x1b]x\x1bPy"},
		{"cut off answer stays", "\x1b[5;6", "\x1b[5;6"},
		{"bare R is not a report", "\x1b[R", "\x1b[R"},
	} {
		if got := string(StripReports([]byte(tc.in))); got != tc.want {
			t.Errorf("%s: StripReports(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// FuzzReplay checks Replay's promises on any bytes, and that StripReports
// only removes whole sequences starting with ESC.
func FuzzReplay(f *testing.F) {
	for _, s := range []string{"/ # \x1b[6n", "\x1b[1;31mred\x1b[0m", "\x1b]0;t\x07\x1bP$qm\x1b\\", "\xc2\x9b6n\x9b6n", "\x1b[?1049h\x1b[5;6R", "\x1b[<0;1;1M\x1b[M !!"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkReplayed(t, string(in))
		out := StripReports(in)
		if bytes.IndexByte(in, esc) < 0 && !bytes.Equal(out, in) {
			t.Fatalf("StripReports(%q) = %q without an ESC in it", in, out)
		}
		j := 0 // out is in with pieces removed
		for i := 0; i < len(in) && j < len(out); i++ {
			if in[i] == out[j] {
				j++
			}
		}
		if j != len(out) {
			t.Fatalf("StripReports(%q) = %q is not part of its input", in, out)
		}
	})
}
