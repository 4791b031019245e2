package sshd

import "testing"

// A broadcast line keeps text and colours; what would move the cursor,
// overwrite other consoles' lines or make the terminal answer is dropped.
func TestFlatLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":                        "plain text",
		"\x1b[1;31mred\x1b[0m":              "\x1b[1;31mred\x1b[0m",
		"prompt# \x1b[6n":                   "prompt# ",
		"\x1b[2J\x1b[5;10HBoot Menu":        "Boot Menu",
		"50%\r60%\b\b\b70%\x07":             "50%60%70%",
		"\x1b]0;title\x07after":             "after",
		"tab\there\x1b[K":                   "tab\there",
		"\x1b7saved\x1b8":                   "saved",
		"utf-8 \xe2\x94\x80\xe2\x94\x80 ok": "utf-8 ── ok",
	} {
		if got := flatLine([]byte(in)); got != want {
			t.Errorf("flatLine(%q) = %q, want %q", in, got, want)
		}
	}
}
