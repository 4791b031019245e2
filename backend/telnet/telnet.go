// Package telnet is a console backend that connects to a telnet server
// (RFC 854): a terminal server port, qemu's -serial telnet:, a BMC's
// telnet console. It negotiates BINARY and SUPPRESS-GO-AHEAD, strips every
// IAC sequence from the data, doubles 0xFF on the way out, and sends BREAK
// as IAC BRK, which terminal servers and qemu turn into a line break.
package telnet

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"consoled/backend"
	"consoled/backend/internal/fdconn"
)

// Dialer connects to one telnet address, e.g. "127.0.0.1:4555" or "[::1]:4555".
type Dialer struct {
	Address string
	// Timeout bounds the TCP connect; 10 s when zero.
	Timeout time.Duration
}

// Kind implements backend.Dialer.
func (d *Dialer) Kind() string { return "telnet" }

// Describe implements backend.Describer.
func (d *Dialer) Describe() string { return "telnet " + d.Address }

// Dial implements backend.Dialer.
func (d *Dialer) Dial(ctx context.Context) (backend.Conn, error) {
	to := d.Timeout
	if to == 0 {
		to = 10 * time.Second
	}
	nd := net.Dialer{Timeout: to, KeepAlive: 30 * time.Second}
	tc, err := nd.DialContext(ctx, "tcp", d.Address)
	if err != nil {
		return nil, fmt.Errorf("connecting to telnet %s: %w", d.Address, err)
	}
	// Read outside Go's poller: an idle console then costs no wake-ups
	// between the reads the mux makes (see fdconn).
	nc, err := fdconn.FromTCP(tc.(*net.TCPConn))
	if err != nil {
		return nil, fmt.Errorf("connecting to telnet %s: %w", d.Address, err)
	}
	c := &conn{nc: nc}
	if _, err := nc.Write(c.codec.Start()); err != nil {
		nc.Close()
		return nil, fmt.Errorf("negotiating telnet options with %s: %w", d.Address, err)
	}
	return c, nil
}

type conn struct {
	nc    *fdconn.Conn
	codec Codec
	reply []byte // the reader's scratch for negotiation answers

	wmu  sync.Mutex // held while writing to nc: input, BREAK, answers
	wbuf []byte

	amu     sync.Mutex // guards answers
	answers []byte     // negotiation answers waiting for the writer to finish
}

// maxAnswers bounds the negotiation answers that wait for a write in
// progress; beyond it the reader waits too (a server negotiating without
// end while it does not read).
const maxAnswers = 4 << 10

// Read returns data bytes only; negotiation is answered inline. It decodes
// in place in p (data never outgrows the bytes it came from), so a console
// costs no buffer of its own here.
func (c *conn) Read(p []byte) (int, error) { return c.read(p, c.nc.Read) }

// TryRead implements backend.TryReader: Read without waiting.
func (c *conn) TryRead(p []byte) (int, error) { return c.read(p, c.nc.TryRead) }

// read reads with read until it has data (or an error), and reads on,
// without waiting, while the bytes read fill the room left: commands
// decoded away leave room for more, and a read that returns less than
// len(p) must have left nothing in the socket (the mux's idle clock parks
// a console after such a read, and what is left would wait, unlogged,
// until the machine prints again).
func (c *conn) read(p []byte, read func([]byte) (int, error)) (int, error) {
	got := 0 // data decoded into p[:got]
	for {
		room := p[got:]
		n, err := read(room)
		var data []byte
		data, c.reply = c.codec.Decode(room[:n], room[:0], c.reply[:0])
		if len(c.reply) > 0 {
			if werr := c.answer(c.reply); werr != nil && err == nil {
				err = fmt.Errorf("answering telnet negotiation: %w", werr)
			}
		}
		got += len(data)
		switch {
		case err == backend.ErrNothingYet && got > 0:
			return got, nil
		case err != nil || n == 0: // n == 0: Read yielded (Yield)
			return got, err
		case got == len(p) || got > 0 && n < len(room):
			return got, nil
		}
		if got > 0 {
			read = c.nc.TryRead // data waits to be returned: no waiting now
		}
	}
}

// answer sends negotiation answers for the reader without waiting for a
// write in progress: writing input blocks while a machine (a flow-controlled
// line) does not read, and its output must still be read meanwhile, or
// neither side moves. That write's writer sends them when it is done.
func (c *conn) answer(p []byte) error {
	c.amu.Lock()
	c.answers = append(c.answers, p...)
	many := len(c.answers) > maxAnswers
	c.amu.Unlock()
	if many {
		c.wmu.Lock()
	} else if !c.wmu.TryLock() {
		return nil
	}
	return c.release()
}

// release sends the answers waiting, then unlocks wmu (held by the caller);
// answers queued meanwhile are sent by whoever takes wmu next, or here.
func (c *conn) release() error {
	var first error
	for {
		c.amu.Lock()
		a := c.answers
		c.answers = nil
		c.amu.Unlock()
		if len(a) > 0 {
			if _, err := c.nc.Write(a); err != nil && first == nil {
				first = err
			}
		}
		c.wmu.Unlock()
		c.amu.Lock()
		more := len(c.answers) > 0
		c.amu.Unlock()
		if !more || !c.wmu.TryLock() {
			return first
		}
	}
}

// Write sends input (a failure to answer negotiation meanwhile shows up
// on the reader's side, as a broken connection).
func (c *conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.release()
	c.wbuf = c.codec.Encode(c.wbuf[:0], p)
	if _, err := c.nc.Write(c.wbuf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Break sends IAC BRK.
func (c *conn) Break() error {
	c.wmu.Lock()
	defer c.release()
	_, err := c.nc.Write([]byte{IAC, BRK})
	return err
}

func (c *conn) Close() error { return c.nc.Close() }

// Yield implements backend.Yielder.
func (c *conn) Yield() { c.nc.Yield() }

// Park implements backend.Parker: the socket is armed in fdconn's set of
// parked sockets. (The codec holds no data between reads: it decodes in
// place, so nothing read waits here while the connection is parked.)
func (c *conn) Park(wake func()) (backend.Harvester, error) { return c.nc.Park(wake) }
