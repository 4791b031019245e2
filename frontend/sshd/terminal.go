package sshd

import (
	"bytes"
	"context"
	"errors"
	"io"
)

// errInterrupted is the cause of a command the user stopped with ^C.
var errInterrupted = errors.New("interrupted (^C)")

// exitInterrupted is the exit status of a command stopped with ^C (as a
// shell reports a command killed by SIGINT).
const exitInterrupted = 130

// Stderr is the session's stderr. Under a pty (ssh -t) the client's
// terminal is in raw mode, so every line ends in "\r\n" there, or the
// messages would staircase.
func (ss *session) Stderr() io.ReadWriter {
	if _, _, pty := ss.Session.Pty(); pty {
		return crlf{ss.Session.Stderr()}
	}
	return ss.Session.Stderr()
}

// crlf turns each "\n" not already preceded by "\r" into "\r\n".
type crlf struct{ io.ReadWriter }

func (c crlf) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, '\n') < 0 {
		return c.ReadWriter.Write(p)
	}
	out := make([]byte, 0, len(p)+8)
	for i, b := range p {
		if b == '\n' && (i == 0 || p[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, b)
	}
	if _, err := c.ReadWriter.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// interruptible returns a context that also ends, with cause
// errInterrupted, when the user types ^C in a pty session: under ssh -t the
// keystroke arrives as a byte on stdin, not as a signal. Without a pty
// stdin is left alone (the client's own ^C closes the connection).
func (ss *session) interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	if _, _, pty := ss.Session.Pty(); pty {
		go func() {
			buf := make([]byte, 256)
			for ctx.Err() == nil {
				n, err := ss.Read(buf)
				if bytes.IndexByte(buf[:n], 0x03) >= 0 {
					cancel(errInterrupted)
					return
				}
				if err != nil {
					return
				}
			}
		}()
	}
	return ctx, func() { cancel(nil) }
}
