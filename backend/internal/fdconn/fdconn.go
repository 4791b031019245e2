// Package fdconn is a TCP connection read outside Go's network poller.
//
// Go's poller watches every socket all the time: each arrival of data wakes a
// thread from epoll_wait, whether or not a goroutine waits for it. A console
// server holds a thousand sockets, most of which nobody watches and which it
// reads only every so often (mux.Config.IdleRead); with Go's poller each
// small arrival still costs a wake-up. A Conn here is in an epoll set of its
// own with EPOLLONESHOT: it is armed only while its reader waits after a read
// found nothing, so data arriving between reads costs nothing until the next
// read collects all of it at once.
//
// A Conn nobody waits for can also be parked (backend.Parker): it is then
// in a second epoll set that no goroutine waits on, and the mux's idle
// clock harvests that set at each tick, so an arrival on a quiet console
// wakes nothing at all.
//
// Linux only, like the rest of consoled's backends.
package fdconn

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"consoled/backend"
)

// Conn is one stream socket. Read, Write and Close may be called from
// different goroutines; Read from one goroutine at a time.
type Conn struct {
	fd     int
	id     int32
	p      *poller
	ready  chan struct{} // cap 1: the poller saw the socket readable, or Close or Yield came
	closed atomic.Bool
	yield  atomic.Bool  // Yield came: Read returns if it finds nothing
	use    sync.RWMutex // read-held around system calls on fd; Close takes it to close fd
	wake   func()       // Park's, until harvested (guarded by p.mu)
	parked atomic.Bool  // in the parked set (added at the first Park)
	ended  atomic.Bool  // a harvest saw the peer close or the socket fail

	laddr, raddr net.Addr
}

// FromTCP takes over c: the returned Conn owns its socket and c is closed.
func FromTCP(c *net.TCPConn) (*Conn, error) {
	p, err := thePoller()
	if err != nil {
		c.Close()
		return nil, err
	}
	laddr, raddr := c.LocalAddr(), c.RemoteAddr()
	f, err := c.File() // a duplicate of the socket, outside Go's poller
	c.Close()
	if err != nil {
		return nil, fmt.Errorf("taking over socket: %w", err)
	}
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("taking over socket: %w", os.NewSyscallError("dup", err))
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("taking over socket: %w", os.NewSyscallError("fcntl", err))
	}
	cn := &Conn{fd: fd, p: p, ready: make(chan struct{}, 1), laddr: laddr, raddr: raddr}
	if err := p.add(cn); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return cn, nil
}

// Read reads what has arrived, or waits for something to arrive. It returns
// io.EOF when the peer closed its side, net.ErrClosed after Close, and 0,
// nil after Yield.
func (c *Conn) Read(b []byte) (int, error) {
	for {
		n, err := c.TryRead(b)
		if err != backend.ErrNothingYet {
			return n, err
		}
		if c.yield.Swap(false) {
			return 0, nil
		}
		// Nothing yet. Arming reports readiness that is already there too,
		// so data (or a FIN) that arrived since the read is not missed.
		if err := c.p.arm(c); err != nil {
			return 0, c.opError("read", err)
		}
		<-c.ready // and TryRead then says net.ErrClosed if Close woke it
	}
}

// TryRead reads what has arrived without waiting (backend.TryReader):
// backend.ErrNothingYet if nothing has, io.EOF if the peer closed its side.
func (c *Conn) TryRead(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, err := c.read(b)
	switch {
	case err == nil && n == 0:
		return 0, io.EOF
	case err == nil:
		return n, nil
	case err == unix.EAGAIN:
		return 0, backend.ErrNothingYet
	}
	return 0, c.opError("read", err)
}

// Write writes all of b, waiting for room in the socket's buffer if needed.
func (c *Conn) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := c.write(b[done:])
		if n > 0 {
			done += n
		}
		switch {
		case err == unix.EAGAIN:
			if err := c.waitWritable(); err != nil {
				return done, c.opError("write", err)
			}
		case err != nil:
			return done, c.opError("write", err)
		}
	}
	return done, nil
}

// waitWritable polls for room to write. Writes to a console are keystrokes,
// and a full send buffer is rare, so this blocks a thread rather than
// complicating the poller; it looks at Close every 50 ms.
func (c *Conn) waitWritable() error {
	for {
		_, err := c.sys(func(fd int) (int, error) {
			return unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}, 50)
		})
		if err == nil {
			return nil
		}
		if err != unix.EINTR {
			return err
		}
	}
}

// read and write are one system call on the socket unless it is closed.
// (Not sys with a closure: that would allocate on every read.)
func (c *Conn) read(b []byte) (int, error)  { return c.rw(false, b) }
func (c *Conn) write(b []byte) (int, error) { return c.rw(true, b) }

func (c *Conn) rw(write bool, b []byte) (int, error) {
	c.use.RLock()
	defer c.use.RUnlock()
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	for {
		var n int
		var err error
		if write {
			n, err = unix.Write(c.fd, b)
		} else {
			n, err = unix.Read(c.fd, b)
		}
		if err != unix.EINTR {
			return n, err
		}
	}
}

// sys runs a system call on the socket unless it is closed.
func (c *Conn) sys(call func(fd int) (int, error)) (int, error) {
	c.use.RLock()
	defer c.use.RUnlock()
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	for {
		n, err := call(c.fd)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// Yield implements backend.Yielder: a Read waiting returns 0, nil if
// nothing has arrived (else what has), and so does the next Read that
// finds nothing if none waits now.
func (c *Conn) Yield() {
	c.yield.Store(true)
	c.signal()
}

// signal wakes c's Read if it waits (else the next one that would),
// without waiting itself.
func (c *Conn) signal() {
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

// Close closes the socket; a Read waiting on it returns net.ErrClosed.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return c.opError("close", net.ErrClosed)
	}
	c.signal()   // a Read waiting wakes, and finds the socket closed
	c.use.Lock() // no system call on fd is in flight after this
	defer c.use.Unlock()
	c.p.remove(c)
	if err := unix.Close(c.fd); err != nil {
		return c.opError("close", err)
	}
	return nil
}

// LocalAddr and RemoteAddr are the socket's addresses.
func (c *Conn) LocalAddr() net.Addr  { return c.laddr }
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

func (c *Conn) opError(op string, err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) {
		err = os.NewSyscallError(op, errno)
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.laddr, Addr: c.raddr, Err: err}
}
