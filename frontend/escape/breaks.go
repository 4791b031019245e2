package escape

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"consoled/breakseq"
	"consoled/frontend"
	"consoled/mux"
)

// BreakOutcome is what an interactive session (SSH or web) tells its user
// after asking for a BREAK (n = 0) or break sequence n on console, which
// gave err; esc is the escape prefix as typed (e.g. "^Ec").
func BreakOutcome(n int, err error, console, esc string) string {
	detail := frontend.BreakDetail(n)
	if text, ok := frontend.Refusal("break "+detail, err, console); ok {
		return text
	}
	switch {
	case err == nil:
		return "sent " + detail
	case errors.Is(err, frontend.ErrNoSequence):
		return fmt.Sprintf("no break sequence %d; %sl? lists them", n, esc)
	case errors.Is(err, mux.ErrBreakUnsupported):
		return "BREAK refused: " + err.Error()
	case errors.Is(err, mux.ErrReadOnly):
		return fmt.Sprintf("%s not sent: %v; %sa takes write access when free, %sf forces it", detail, err, esc, esc)
	default:
		return detail + " not sent: " + err.Error()
	}
}

// BreakList is the answer to ^Ecl?: the plain BREAK and the configured
// break sequences, in order.
func BreakList(esc string, breaks map[int]breakseq.Seq) string {
	lines := []string{"break sequences:", "  " + esc + "l0  BREAK"}
	ns := make([]int, 0, len(breaks))
	for n := range breaks {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	for _, n := range ns {
		lines = append(lines, fmt.Sprintf("  %sl%d  %q (pause %v)", esc, n, breaks[n].Source, breaks[n].Delay))
	}
	return strings.Join(lines, "\n")
}
