// Package exec is a console backend that runs a command in a pseudo-terminal
// of a fixed size and treats the pty as the console: `ssh -tt admin@sw1`,
// `ipmitool ... sol activate`, a vendor's console tool. When the command
// exits the connection ends and the mux restarts it with backoff.
//
// A pty cannot carry a serial BREAK, so Break writes a configured byte string
// the child understands (e.g. "\r~B" for ssh or ipmitool) and fails with
// backend.ErrBreakUnsupported when none is configured.
package exec

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"consoled/backend"
	"consoled/backend/internal/pollfd"
)

// Dialer starts Command (argv) in a pty.
type Dialer struct {
	Command []string
	Dir     string   // working directory; inherited when empty
	Env     []string // extra KEY=VALUE entries added to consoled's environment
	Rows    uint16   // pty size; 24x80 when zero
	Cols    uint16
	// BreakSeq is written on Break; empty means Break is refused.
	BreakSeq []byte
}

// Kind implements backend.Dialer.
func (d *Dialer) Kind() string { return "exec" }

// Describe implements backend.Describer.
func (d *Dialer) Describe() string {
	brk := "none"
	if len(d.BreakSeq) > 0 {
		brk = strconv.Quote(string(d.BreakSeq))
	}
	return fmt.Sprintf("exec %q break=%s", d.Command, brk)
}

// Dial implements backend.Dialer: it starts the command.
func (d *Dialer) Dial(ctx context.Context) (backend.Conn, error) {
	if len(d.Command) == 0 {
		return nil, errors.New("exec console has an empty command")
	}
	cmd := osexec.Command(d.Command[0], d.Command[1:]...)
	cmd.Dir = d.Dir
	cmd.Env = append(append(os.Environ(), "TERM=vt100"), d.Env...)
	rows, cols := d.Rows, d.Cols
	if rows == 0 {
		rows = 24
	}
	if cols == 0 {
		cols = 80
	}
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		return nil, fmt.Errorf("starting %q in a pty: %w", d.Command[0], err)
	}
	c := &conn{cmd: cmd, brk: d.BreakSeq, done: make(chan struct{})}
	if c.ptmx, err = pollable(ptmx); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		go cmd.Wait()
		return nil, fmt.Errorf("starting %q in a pty: %w", d.Command[0], err)
	}
	go c.reap()
	return c, nil
}

// pollable returns the pty master as a file in Go's poller and closes f:
// creack/pty leaves it blocking, where a goroutine waiting in Read holds an
// OS thread (a thousand quiet exec consoles would be a thousand threads).
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	return pollfd.Open(int(f.Fd()), f.Name())
}

type conn struct {
	ptmx *os.File // non-blocking, in Go's poller
	cmd  *osexec.Cmd
	brk  []byte

	done    chan struct{} // closed when the child has been reaped
	waitErr error

	closeOnce sync.Once
}

// reap waits for the child to exit and collects its status. Where the
// kernel has pidfds, the wait parks in Go's poller; elsewhere Wait holds a
// thread until the child exits.
func (c *conn) reap() {
	defer close(c.done)
	if pidfd, err := unix.PidfdOpen(c.cmd.Process.Pid, unix.PIDFD_NONBLOCK); err == nil {
		f := os.NewFile(uintptr(pidfd), "pidfd")
		if rc, err := f.SyscallConn(); err == nil {
			// A pidfd is readable once the process has exited.
			_ = rc.Read(func(fd uintptr) bool {
				pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
				n, err := unix.Poll(pfd, 0)
				return err != nil && err != unix.EINTR || n > 0
			})
		}
		f.Close()
	}
	c.waitErr = c.cmd.Wait()
}

// Read returns what the child printed. When the child has exited and its
// output is drained the pty reports EIO; that becomes an error that says how
// the command ended.
func (c *conn) Read(p []byte) (int, error) {
	n, err := c.ptmx.Read(p)
	if err != nil && n == 0 {
		return 0, c.readErr(err)
	}
	return n, nil
}

// TryRead implements backend.TryReader: one read of the pty, no waiting.
// A failed read answers ErrNothingYet, so that the console's own Read meets
// the failure and waits to say how the command ended, not the idle clock
// that reads many consoles in turn.
func (c *conn) TryRead(p []byte) (int, error) {
	n, err := pollfd.TryRead(c.ptmx, p)
	if err != nil {
		return 0, backend.ErrNothingYet
	}
	return n, nil
}

// readErr says how the command ended when reading its pty failed.
func (c *conn) readErr(err error) error {
	select {
	case <-c.done:
		if c.waitErr != nil {
			return fmt.Errorf("command %s: %w", c.cmd.Path, c.waitErr)
		}
		return fmt.Errorf("command %s exited", c.cmd.Path)
	case <-time.After(2 * time.Second):
		return fmt.Errorf("reading the pty of %s: %w", c.cmd.Path, err)
	}
}

func (c *conn) Write(p []byte) (int, error) { return c.ptmx.Write(p) }

func (c *conn) Break() error {
	if len(c.brk) == 0 {
		return fmt.Errorf("%w: set break in the exec block", backend.ErrBreakUnsupported)
	}
	_, err := c.ptmx.Write(c.brk)
	return err
}

// Close hangs up the child's session (SIGHUP to its process group, as a
// terminal hang-up would), then kills it if it has not gone within 2 s.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		pgid := c.cmd.Process.Pid // pty.Start makes the child a session leader
		_ = syscall.Kill(-pgid, syscall.SIGHUP)
		_ = syscall.Kill(-pgid, syscall.SIGCONT)
		select {
		case <-c.done:
		case <-time.After(2 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-c.done
		}
		c.ptmx.Close()
	})
	return nil
}
