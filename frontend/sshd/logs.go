package sshd

import (
	"fmt"
	"strings"
	"time"

	"consoled/frontend"
	"consoled/internal/logcmd"
)

// logs runs `logs NAME ...` on the log directory, for consoles the user may see.
func (s *Server) logs(ss *session) int {
	allowed := func(name string) bool { return s.access(ss, name) != frontend.NoAccess }
	if err := logcmd.Logs(ss.ctx, ss.args[1:], s.opts.LogDir, allowed, ss); err != nil {
		if ss.ctx.Err() != nil { // --follow ended by the client
			return 0
		}
		fmt.Fprintf(ss.Stderr(), "consoled: %v\n%s\n", err, logcmd.LogsUsage)
		return 2
	}
	return 0
}

// panicList runs `panics [--since D] [NAME...]`.
func (s *Server) panicList(ss *session) int {
	if s.opts.Panics == nil {
		return 0
	}
	allowed := func(name string) bool { return s.access(ss, name) != frontend.NoAccess }
	if err := logcmd.Panics(ss.args[1:], s.opts.Panics, time.Now(), allowed, ss); err != nil {
		fmt.Fprintf(ss.Stderr(), "consoled: %v\n%s\n", err, logcmd.PanicsUsage)
		return 2
	}
	return 0
}

// replayOnAttach shows the last lines of the log, dimmed, before live output.
func (a *attachment) replayOnAttach() {
	n := a.s.pol().Replay
	if n <= 0 || !a.pty {
		return
	}
	b, err := a.con.Recent(n)
	if err != nil || len(b) == 0 {
		return
	}
	text := strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n", "\r\n")
	a.echo("\x1b[2m" + text + "\x1b[0m")
}
