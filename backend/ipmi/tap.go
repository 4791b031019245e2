package ipmi

import (
	"net"
	"sync"
	"time"
)

// tap is the UDP transport handed to go-ipmi (through its proxy hook). Until
// own is called it is a plain UDP socket. Once the SOL payload is active the
// backend owns the socket: its reader takes every datagram, keeps SOL
// packets for the SOL loop and passes the rest (answers to the session
// keepalives, Deactivate Payload, Close Session) on to go-ipmi, which
// then reads them from the tap as if from the socket.
type tap struct {
	mu        sync.Mutex
	conn      net.Conn
	owned     bool
	forGoIPMI chan []byte
	deadline  time.Time // go-ipmi's read deadline while owned
	wake      chan struct{}
}

// Dial implements golang.org/x/net/proxy.Dialer.
func (t *tap) Dial(network, addr string) (net.Conn, error) {
	c, err := net.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.conn = c
	t.forGoIPMI = make(chan []byte, 16)
	t.wake = make(chan struct{}, 1)
	t.mu.Unlock()
	return &tapConn{t: t, Conn: c}, nil
}

// socket is the real UDP socket (nil before go-ipmi dialed).
func (t *tap) socket() net.Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conn
}

func (t *tap) setOwned(owned bool) {
	t.mu.Lock()
	t.owned = owned
	if !owned && t.conn != nil {
		// Hand go-ipmi the socket with the read deadline it last asked for,
		// so a read it has waiting gives up in time.
		t.conn.SetReadDeadline(t.deadline)
	}
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// passOn gives a datagram that is not SOL to go-ipmi; dropped if it is not
// reading (nothing is waiting for it then).
func (t *tap) passOn(p []byte) {
	select {
	case t.forGoIPMI <- p:
	default:
	}
}

type tapConn struct {
	t *tap
	net.Conn
}

var errTimeout = &timeoutError{}

type timeoutError struct{}

func (*timeoutError) Error() string   { return "i/o timeout" }
func (*timeoutError) Timeout() bool   { return true }
func (*timeoutError) Temporary() bool { return true }

func (c *tapConn) Read(p []byte) (int, error) {
	for {
		c.t.mu.Lock()
		owned, deadline := c.t.owned, c.t.deadline
		c.t.mu.Unlock()
		if !owned {
			return c.Conn.Read(p)
		}
		var timer <-chan time.Time
		if !deadline.IsZero() {
			d := time.Until(deadline)
			if d <= 0 {
				return 0, &net.OpError{Op: "read", Net: "udp", Err: errTimeout}
			}
			tm := time.NewTimer(d)
			defer tm.Stop()
			timer = tm.C
		}
		select {
		case b := <-c.t.forGoIPMI:
			return copy(p, b), nil
		case <-timer:
			return 0, &net.OpError{Op: "read", Net: "udp", Err: errTimeout}
		case <-c.t.wake: // ownership changed: look again
		}
	}
}

func (c *tapConn) SetReadDeadline(d time.Time) error {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	if c.t.owned {
		c.t.deadline = d
		return nil
	}
	return c.Conn.SetReadDeadline(d)
}

func (c *tapConn) SetDeadline(d time.Time) error {
	if err := c.SetReadDeadline(d); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(d)
}
