package escape

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"consoled/breakseq"
	"consoled/frontend"
	"consoled/mux"
)

// Every outcome of a BREAK is worded once, for both transports.
func TestBreakOutcome(t *testing.T) {
	for _, c := range []struct {
		n    int
		err  error
		want string
	}{
		{0, nil, "sent BREAK"},
		{2, nil, "sent break sequence 2"},
		{0, &frontend.DeniedError{Why: "read-only access"}, "break BREAK refused: you have read-only access to c1"},
		{4, fmt.Errorf("%w: 4", frontend.ErrNoSequence), "no break sequence 4; ^Ecl? lists them"},
		{0, fmt.Errorf("%w: set break in the exec block", mux.ErrBreakUnsupported),
			"BREAK refused: this console has no way to send BREAK: set break in the exec block"},
		{0, fmt.Errorf("%w (alice)", mux.ErrReadOnly),
			"BREAK not sent: read-only: another user has write access (alice); ^Eca takes write access when free, ^Ecf forces it"},
		{0, mux.ErrNobodyWrites, "BREAK not sent: read-only: nobody has write access; ^Eca takes write access when free, ^Ecf forces it"},
		{1, errors.New("console is not connected"), "break sequence 1 not sent: console is not connected"},
	} {
		if got := BreakOutcome(c.n, c.err, "c1", "^Ec"); got != c.want {
			t.Errorf("BreakOutcome(%d, %v) = %q, want %q", c.n, c.err, got, c.want)
		}
	}
}

func TestBreakList(t *testing.T) {
	got := BreakList("^Ec", map[int]breakseq.Seq{
		3: {Source: `\z`, Delay: 250 * time.Millisecond},
		1: {Source: `\r~\d^b`, Delay: 600 * time.Millisecond},
	})
	want := "break sequences:\n  ^Ecl0  BREAK\n  ^Ecl1  \"\\\\r~\\\\d^b\" (pause 600ms)\n  ^Ecl3  \"\\\\z\" (pause 250ms)"
	if got != want {
		t.Errorf("BreakList:\n%s\nwant:\n%s", got, want)
	}
}
