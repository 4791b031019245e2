// Package pollfd puts a character device's descriptor (a pty master, a
// serial tty) in Go's poller, so that a goroutine waiting to read it is
// parked instead of holding an OS thread, and reads it once without waiting
// (TryRead, for backend.TryReader and the mux's idle clock).
//
// Libraries that open such devices leave them in blocking mode (creack/pty
// asks for the descriptor, which makes it so; go.bug.st/serial waits in
// select): each quiet console would hold a thread of its own.
package pollfd

import (
	"io"
	"os"

	"golang.org/x/sys/unix"

	"consoled/backend"
)

// Open returns a non-blocking duplicate of fd as a file in Go's poller. The
// caller still owns fd; closing the file does not close it.
func Open(fd int, name string) (*os.File, error) {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("dup", err)
	}
	// O_NONBLOCK belongs to the open file, so fd becomes non-blocking too.
	if err := unix.SetNonblock(dup, true); err != nil {
		unix.Close(dup)
		return nil, os.NewSyscallError("fcntl", err)
	}
	return os.NewFile(uintptr(dup), name), nil
}

// TryRead is one read of f that never waits: backend.ErrNothingYet when
// nothing is there, io.EOF when the device reads as ended (a hung-up tty),
// or the read's error.
func TryRead(f *os.File, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		for {
			if n, rerr = unix.Read(int(fd), p); rerr != unix.EINTR {
				return true // done either way: never wait here
			}
		}
	}); err != nil {
		return 0, err // closed
	}
	switch {
	case rerr == unix.EAGAIN:
		return 0, backend.ErrNothingYet
	case rerr != nil:
		return 0, &os.PathError{Op: "read", Path: f.Name(), Err: rerr}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}
