package sshd

import (
	"strings"

	"consoled/termsafe"
)

// replayOnAttach greets the newcomer and shows, before live output, the
// console's current screen when its machine draws one (a BIOS menu, top:
// painted after the greeting, which would otherwise overwrite it), else
// the last replay_lines lines of the log, dimmed, before the greeting.
func (a *attachment) replayOnAttach() {
	if !a.pty {
		a.greet()
		return
	}
	if screen, ok := a.cs.Screen(); ok {
		a.greet()
		a.echo(string(screen))
		return
	}
	defer a.greet()
	n := a.s.pol().Replay
	if n <= 0 {
		return
	}
	b, err := a.cs.Recent(n)
	if err != nil || len(b) == 0 {
		return
	}
	text := strings.ReplaceAll(strings.ReplaceAll(string(termsafe.Replay(b)), "\r\n", "\n"), "\n", "\r\n")
	a.echo("\x1b[2m" + text + "\x1b[0m")
}
