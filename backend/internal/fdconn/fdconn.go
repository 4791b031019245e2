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
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"consoled/backend"
)

// Conn is one stream socket. Read, Write and Close may be called from
// different goroutines; Read from one goroutine at a time.
type Conn struct {
	fd      int
	id      int32
	p       *poller
	ready   chan struct{} // cap 1: the poller saw the socket readable
	closing chan struct{} // closed by Close
	closed  atomic.Bool
	use     sync.RWMutex // read-held around system calls on fd; Close takes it to close fd
	wake    func()       // Park's, until harvested (guarded by p.mu)
	parked  atomic.Bool  // in the parked set (added at the first Park)

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
	cn := &Conn{fd: fd, p: p, ready: make(chan struct{}, 1), closing: make(chan struct{}), laddr: laddr, raddr: raddr}
	if err := p.add(cn); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return cn, nil
}

// Read reads what has arrived, or waits for something to arrive. It returns
// io.EOF when the peer closed its side and net.ErrClosed after Close.
func (c *Conn) Read(b []byte) (int, error) {
	for {
		n, err := c.TryRead(b)
		if err != backend.ErrNothingYet {
			return n, err
		}
		// Nothing yet. Arming reports readiness that is already there too,
		// so data (or a FIN) that arrived since the read is not missed.
		if err := c.p.arm(c); err != nil {
			return 0, c.opError("read", err)
		}
		select {
		case <-c.ready:
		case <-c.closing:
			return 0, c.opError("read", net.ErrClosed)
		}
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

// Close closes the socket; a Read waiting on it returns net.ErrClosed.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return c.opError("close", net.ErrClosed)
	}
	close(c.closing)
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

// poller is one epoll set for every Conn, and the goroutine that waits on it.
type poller struct {
	epfd   int
	parkfd int      // the parked set: nobody waits on it; Harvest looks at it
	file   *os.File // epfd as a file (kept: its finalizer would close epfd)
	mu     sync.Mutex
	conns  map[int32]*Conn
	nextID int32

	hmu       sync.Mutex // one Harvest at a time
	harvested []unix.EpollEvent
	wakes     []func()
}

var (
	pollerOnce sync.Once
	pollerP    *poller
	pollerErr  error
)

func thePoller() (*poller, error) {
	pollerOnce.Do(func() {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			pollerErr = fmt.Errorf("creating epoll set: %w", os.NewSyscallError("epoll_create1", err))
			return
		}
		parkfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			unix.Close(epfd)
			pollerErr = fmt.Errorf("creating epoll set: %w", os.NewSyscallError("epoll_create1", err))
			return
		}
		pollerP = &poller{epfd: epfd, parkfd: parkfd, conns: map[int32]*Conn{}, harvested: make([]unix.EpollEvent, 256)}
		// The epoll set is itself readable when it has events: Go's poller
		// watches it and wakes the goroutine below, which costs no thread
		// of its own blocked in epoll_wait.
		var rc syscall.RawConn
		if err := unix.SetNonblock(epfd, true); err == nil {
			pollerP.file = os.NewFile(uintptr(epfd), "fdconn-epoll")
			if rc, err = pollerP.file.SyscallConn(); err != nil {
				rc = nil
			}
		}
		go pollerP.run(rc)
	})
	return pollerP, pollerErr
}

const armed = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

func (p *poller) add(c *Conn) error {
	p.mu.Lock()
	p.nextID++
	for p.conns[p.nextID] != nil || p.nextID == 0 {
		p.nextID++
	}
	c.id = p.nextID
	p.conns[c.id] = c
	p.mu.Unlock()
	// Registered armed: a first event only leaves a spare wake-up token.
	ev := unix.EpollEvent{Events: armed, Fd: c.id}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.conns, c.id)
		p.mu.Unlock()
		return fmt.Errorf("watching socket: %w", os.NewSyscallError("epoll_ctl", err))
	}
	return nil
}

func (p *poller) arm(c *Conn) error {
	ev := unix.EpollEvent{Events: armed, Fd: c.id}
	_, err := c.sys(func(fd int) (int, error) { return 0, unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev) })
	return err
}

// remove forgets c; called by Close before it closes the descriptor.
func (p *poller) remove(c *Conn) {
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	if c.parked.Load() {
		unix.EpollCtl(p.parkfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	}
	p.mu.Lock()
	delete(p.conns, c.id)
	p.mu.Unlock()
}

func (p *poller) run(rc syscall.RawConn) {
	events := make([]unix.EpollEvent, 256)
	var werr error
	harvest := func(uintptr) bool {
		for {
			n, err := unix.EpollWait(p.epfd, events, 0)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				werr = err
				return true
			}
			p.wake(events[:n])
			if n < len(events) {
				return false // all taken: wait until the set is readable again
			}
		}
	}
	if rc != nil {
		if err := rc.Read(harvest); err != nil && werr == nil {
			werr = err
		}
	} else { // not pollable: a thread of our own waits
		for werr == nil {
			n, err := unix.EpollWait(p.epfd, events, -1)
			switch {
			case err == unix.EINTR:
			case err != nil:
				werr = err
			default:
				p.wake(events[:n])
			}
		}
	}
	slog.Error("waiting for sockets; polling every 10 ms instead", "err", os.NewSyscallError("epoll_wait", werr))
	p.pollForever()
}

func (p *poller) wake(events []unix.EpollEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range events {
		if c := p.conns[ev.Fd]; c != nil {
			select {
			case c.ready <- struct{}{}:
			default:
			}
		}
	}
}

// pollForever wakes every reader every 10 ms: slower, but nothing stalls.
func (p *poller) pollForever() {
	for {
		time.Sleep(10 * time.Millisecond)
		p.mu.Lock()
		for _, c := range p.conns {
			select {
			case c.ready <- struct{}{}:
			default:
			}
		}
		p.mu.Unlock()
	}
}

// Park implements backend.Parker: the next Harvest after data or a FIN
// arrived calls wake. c is in the parked set, a second epoll set that no
// goroutine waits on, from its first Park on, edge-triggered: every
// arrival queues it there (once until the next harvest), whoever reads it,
// so parking again is no system call. Data that arrived before Park and
// was not read was queued after the last harvest (the clock, which parks,
// harvests before it reads), so the next harvest reports it too. Between
// Park and that harvest, arrivals on c wake nothing.
func (c *Conn) Park(wake func()) (backend.Harvester, error) {
	p := c.p
	if !c.parked.Load() {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: c.id}
		_, err := c.sys(func(fd int) (int, error) { return 0, unix.EpollCtl(p.parkfd, unix.EPOLL_CTL_ADD, fd, &ev) })
		if err != nil {
			return nil, c.opError("park", err)
		}
		c.parked.Store(true)
	} else if c.closed.Load() {
		return nil, c.opError("park", net.ErrClosed)
	}
	p.mu.Lock()
	c.wake = wake
	p.mu.Unlock()
	return p, nil
}

// Harvest implements backend.Harvester: it calls the wake of every parked
// Conn on which something arrived (or whose peer closed) since it was
// parked, without waiting. Arrivals on a Conn that is not parked (read by
// the clock every tick, or by its own reader) are skipped.
func (p *poller) Harvest() {
	p.hmu.Lock()
	defer p.hmu.Unlock()
	for {
		n, err := unix.EpollWait(p.parkfd, p.harvested, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		p.mu.Lock()
		for _, ev := range p.harvested[:n] {
			if c := p.conns[ev.Fd]; c != nil && c.wake != nil {
				p.wakes = append(p.wakes, c.wake)
				c.wake = nil
			}
		}
		p.mu.Unlock()
		for i, w := range p.wakes {
			w()
			p.wakes[i] = nil
		}
		p.wakes = p.wakes[:0]
		if n < len(p.harvested) {
			return
		}
	}
}
