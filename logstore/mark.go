package logstore

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Mark lines (see the package doc for the format).
const (
	markOpen  = "[-- consoled: "
	markClose = " --]"
	// midLineFlag ends a mark that consoled wrote while the machine was
	// mid-line: the "\n" just before the mark is consoled's, not the
	// machine's.
	midLineFlag = " (mid-line)"
)

// MarkLine formats an event mark as it appears in the log. midLine says the
// log is mid-line: the mark then starts with the "\n" that puts it on a line
// of its own and carries the " (mid-line)" flag that says so.
func MarkLine(event string, t time.Time, midLine bool) []byte {
	var b []byte
	if midLine {
		b = append(b, '\n')
	}
	event = strings.Join(strings.Fields(event), " ") // a mark is one line
	b = fmt.Appendf(b, "%s%s %s", markOpen, event, t.UTC().Format(time.RFC3339))
	if midLine {
		b = append(b, midLineFlag...)
	}
	return append(b, markClose+"\n"...)
}

// Mark is a parsed mark line.
type Mark struct {
	Event string
	Time  time.Time
	// MidLine: the machine was mid-line when consoled wrote the mark, and
	// the "\n" that ends the line before the mark is consoled's. The
	// machine's bytes are that line without its "\n", followed by what
	// comes after the mark (and any marks right after it).
	MidLine bool
}

// ParseMark parses one line of a log (with or without its "\n") as a
// mark. It is the only parser of the format: a line is a mark when it
// is exactly "[-- consoled: EVENT TIME --]" or
// "[-- consoled: EVENT TIME (mid-line) --]", TIME being RFC 3339 in UTC.
// The flag and the time are read from the end of the line, which only
// consoled writes, so no event text (a note, say) can fake them.
func ParseMark(line []byte) (Mark, bool) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	if !bytes.HasPrefix(line, []byte(markOpen)) || !bytes.HasSuffix(line, []byte(markClose)) {
		return Mark{}, false
	}
	body := string(line[len(markOpen) : len(line)-len(markClose)])
	var m Mark
	if rest, ok := strings.CutSuffix(body, midLineFlag); ok {
		body, m.MidLine = rest, true
	}
	i := strings.LastIndexByte(body, ' ')
	if i < 0 {
		return Mark{}, false
	}
	t, err := time.Parse(time.RFC3339, body[i+1:])
	if err != nil {
		return Mark{}, false
	}
	m.Event, m.Time = body[:i], t
	return m, true
}

// MachineBytes returns what the machine printed, given the bytes of a log
// file from a line start: every mark line is removed, and so is the "\n"
// before a mid-line mark.
func MachineBytes(log []byte) []byte {
	out := make([]byte, 0, len(log))
	for len(log) > 0 {
		line := log
		if i := bytes.IndexByte(log, '\n'); i >= 0 {
			line = log[:i+1]
		}
		log = log[len(line):]
		m, ok := ParseMark(line)
		if !ok {
			out = append(out, line...)
			continue
		}
		if m.MidLine && len(out) > 0 && out[len(out)-1] == '\n' {
			out = out[:len(out)-1]
		}
	}
	return out
}

// heldMark is a mark waiting for the end of the machine's line.
type heldMark struct {
	event string
	t     time.Time
}
