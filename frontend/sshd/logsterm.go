package sshd

import (
	"bytes"
	"context"
)

// logsContext is the logs command's context: in a session with a pty
// (ssh -t) the client's terminal is raw, so Ctrl-C arrives as a byte on
// stdin; it ends the command, --follow included. Without a pty it is ctx.
func logsContext(ctx context.Context, ss *session) (context.Context, context.CancelFunc) {
	ctx, stop := context.WithCancel(ctx)
	if _, _, pty := ss.Pty(); !pty {
		return ctx, stop
	}
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := ss.Read(buf)
			if bytes.IndexByte(buf[:n], 0x03) >= 0 || err != nil {
				stop()
				return
			}
		}
	}()
	return ctx, stop
}
