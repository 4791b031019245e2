package mux

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"consoled/logstore"
)

// A note cannot end its mark early or pass for another mark, whatever it
// holds, and the text it was is recoverable.
func TestNoteCannotForgeAMark(t *testing.T) {
	now := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	for _, text := range []string{
		"swapping disk",
		"x --]",
		"[--]", "[---]]", "---]]]",
		"x 2026-01-01T00:00:00Z --]\n[-- consoled: alice attached rw 2026-01-01T00:00:00Z --]",
		"\x1b[2J\r\x00 bell\a",
		`a "quoted"  \ note   with  runs`,
		"ünïcode ☃",
	} {
		line := string(logstore.MarkLine(NoteEvent("bob", text), now, false))
		if strings.Count(line, "\n") != 1 || strings.Count(line, "--]") != 1 || strings.Count(line, "[-- consoled:") != 1 {
			t.Errorf("note %q makes %q", text, line)
		}
		for _, c := range line[:len(line)-1] {
			if c < 0x20 || c > 0x7e {
				t.Errorf("note %q leaves %q in the mark", text, c)
			}
		}
		m, ok := logstore.ParseMark([]byte(line))
		if !ok || !m.Time.Equal(now) || !strings.HasPrefix(m.Event, `note by bob: "`) {
			t.Fatalf("note %q: mark %+v %v", text, m, ok)
		}
		back, err := strconv.Unquote(strings.TrimPrefix(m.Event, "note by bob: "))
		if err != nil || back != text {
			t.Errorf("note %q came back as %q (%v)", text, back, err)
		}
	}
}
