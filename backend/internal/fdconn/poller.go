// The poller: the epoll sets behind every Conn, and the parked set the idle clock harvests.

package fdconn

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"consoled/backend"
)

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
			c.signal()
		}
	}
}

// pollForever wakes every reader every 10 ms: slower, but nothing stalls.
func (p *poller) pollForever() {
	for {
		time.Sleep(10 * time.Millisecond)
		p.mu.Lock()
		for _, c := range p.conns {
			c.signal()
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
// Park and that harvest, arrivals on c wake nothing. The end of the
// stream is the exception: a read that took the last data does not take
// the end after it, and no later arrival would report it, so Park refuses
// (io.EOF) once a harvest saw the peer close (or the socket fail): the
// caller reads on and finds the end.
func (c *Conn) Park(wake func()) (backend.Harvester, error) {
	p := c.p
	if c.ended.Load() {
		return nil, c.opError("park", io.EOF)
	}
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
			c := p.conns[ev.Fd]
			if c != nil && ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				c.ended.Store(true) // see Park
			}
			if c != nil && c.wake != nil {
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
