package mux

import (
	"strconv"
	"strings"
	"time"
)

// Announce records an event (e.g. a power action) in the log and tells
// every attached client.
func (c *Console) Announce(text string) { c.event(text, false) }

// Note writes a user's note into the log, e.g. Note("alice", "swapping
// disk") marks `note by alice: "swapping disk"`. The text is quoted (see
// QuoteNote) so that no note can look like another mark.
func (c *Console) Note(who, text string) {
	c.cfg.Log.Mark(NoteEvent(who, text), time.Now())
}

// NoteEvent is the mark event of a note.
func NoteEvent(who, text string) string { return "note by " + who + ": " + QuoteNote(text) }

// QuoteNote quotes a note as a Go string literal, ASCII only: control
// characters and newlines become escapes, "[--" and "--]" (the ends of a
// mark) become "\x5b--" and "--\x5d", and a space after a space "\x20" (a mark is one line with
// single spaces), so the note stays inside one mark line, can never end it
// early or pass for another mark, and strconv.Unquote gives the text back.
func QuoteNote(text string) string {
	q := strconv.QuoteToASCII(text)
	for strings.Contains(q, "[--") || strings.Contains(q, "--]") || strings.Contains(q, "  ") {
		q = strings.NewReplacer("[--", `\x5b--`, "--]", `--\x5d`, "  ", ` \x20`).Replace(q)
	}
	return q
}
