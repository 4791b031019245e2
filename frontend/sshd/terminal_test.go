package sshd

import (
	"bytes"
	"testing"
)

func TestCRLF(t *testing.T) {
	for in, want := range map[string]string{
		"a\nb\n":         "a\r\nb\r\n",
		"a\r\nb":         "a\r\nb",
		"\n":             "\r\n",
		"no newline":     "no newline",
		"x\n\ny\r\n\r\n": "x\r\n\r\ny\r\n\r\n",
	} {
		var b bytes.Buffer
		n, err := crlf{&b}.Write([]byte(in))
		if err != nil || n != len(in) || b.String() != want {
			t.Errorf("crlf(%q) = %q, %d, %v; want %q", in, b.String(), n, err, want)
		}
	}
}

// Output waiting behind a question is held up to maxHeld, then shown with
// the question asked again.
func TestQuestionHold(t *testing.T) {
	var q question
	if got := q.hold([]byte("out")); string(got) != "out" {
		t.Errorf("no question: %q", got)
	}
	q.text = "power cycle vm1? [y/N] "
	if got := q.hold(make([]byte, maxHeld-1)); len(got) != 0 {
		t.Errorf("held output written: %d bytes", len(got))
	}
	got := q.hold([]byte("x"))
	if len(got) != maxHeld+len(q.again()) || !bytes.HasSuffix(got, []byte("x[consoled: power cycle vm1? [y/N] ")) || len(q.held) != 0 {
		t.Errorf("past maxHeld: %d bytes, ends %q", len(got), got[len(got)-40:])
	}
}
