package ipmi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bougou/go-ipmi/pkg/client"
	"github.com/bougou/go-ipmi/pkg/command/transport"
	"github.com/bougou/go-ipmi/pkg/types"

	"consoled/backend/internal/outq"
)

const (
	defaultTimeout = 2 * time.Second  // one go-ipmi request
	dialTimeout    = 20 * time.Second // login and activation
	retransmit     = 500 * time.Millisecond
	maxTries       = 6 // sends of one packet before the BMC counts as lost
	keepalive      = 10 * time.Second
	nackPause      = 20 * time.Millisecond // BMC said its buffer is full
	maxPending     = 64 << 10              // input queued before Write blocks
	closeTimeout   = 3 * time.Second
)

// conn is an active SOL session. One goroutine (loop) owns the protocol
// state; reader feeds it datagrams; Read, Write and Break talk to it.
type conn struct {
	c      *client.Client
	tap    *tap
	addr   string
	inSize int // the BMC's inbound payload size: most bytes per packet to it

	input chan []byte // keystrokes, and nil for a BREAK: one channel keeps their order
	stop  chan struct{}
	done  chan struct{}
	err   error // why loop ended; read after done

	out outq.Q // what the machine printed, for Read

	closeOnce sync.Once
}

func startConn(c *client.Client, t *tap, addr string, inSize int) *conn {
	if inSize <= 4 || inSize > 255+4 {
		inSize = 255 + 4
	}
	k := &conn{c: c, tap: t, addr: addr, inSize: inSize - 4, // the size includes the 4-byte SOL header
		input: make(chan []byte, 16),
		stop:  make(chan struct{}), done: make(chan struct{})}
	t.setOwned(true)
	go k.run()
	return k
}

// Read returns what the machine printed.
func (k *conn) Read(p []byte) (int, error) { return k.out.Read(p) }

// TryRead implements backend.TryReader.
func (k *conn) TryRead(p []byte) (int, error) { return k.out.TryRead(p) }

func (k *conn) deliver(b []byte) { k.out.Put(b) }

// Write queues keystrokes; it blocks while much input is unacknowledged.
func (k *conn) Write(p []byte) (int, error) {
	select {
	case k.input <- append([]byte(nil), p...):
		return len(p), nil
	case <-k.done:
		return 0, k.err
	}
}

// Break sends a serial BREAK (the SOL generate-break bit).
func (k *conn) Break() error {
	select {
	case k.input <- nil:
		return nil
	case <-k.done:
		return k.err
	}
}

// Close deactivates the payload and closes the session. It waits for the
// BMC at most closeTimeout: a BMC that has gone must not hold up shutdown.
func (k *conn) Close() error {
	k.closeOnce.Do(func() {
		close(k.stop)
		<-k.done
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			_, _ = k.c.DeactivatePayload(ctx, &transport.DeactivatePayloadRequest{PayloadType: types.PayloadTypeSOL, PayloadInstance: 1})
			_ = k.c.Close(ctx)
		}()
		select {
		case <-closed:
		case <-ctx.Done():
			k.tap.socket().Close() // unblocks whatever go-ipmi still waits for
		}
	})
	return nil
}

// run is the SOL loop.
func (k *conn) run() {
	err := k.loop()
	k.err = err
	k.out.End(err)
	k.tap.setOwned(false)
	close(k.done)
}

type datagram struct {
	b   []byte
	err error
}

func (k *conn) loop() error {
	sock := k.tap.socket()
	sock.SetReadDeadline(time.Time{}) // go-ipmi leaves its last one set
	dgrams := make(chan datagram, 64)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 2048)
		for {
			n, err := sock.Read(buf)
			if err != nil {
				select {
				case dgrams <- datagram{err: err}:
				case <-k.stop:
				}
				return
			}
			b := append([]byte(nil), buf[:n]...)
			if !isSOL(b) {
				k.tap.passOn(b)
				continue
			}
			select {
			case dgrams <- datagram{b: b}:
			case <-k.stop:
				return
			}
		}
	}()
	defer func() {
		// Interrupt the reader; run then gives the socket back to go-ipmi.
		sock.SetReadDeadline(time.Now())
		<-readerDone
	}()

	var (
		in       inbound
		out      *flight
		outSeq   uint8
		pending  []byte
		brk      bool // a BREAK is due once brkAt bytes of pending are sent
		brkAt    int
		hold     time.Time
		lastSent = time.Now()
		lastRecv = time.Now()
	)
	send := func(p *types.SOLPayloadPacket) error {
		rmcp, err := k.c.BuildRmcpRequest(context.Background(), &types.SOLPayloadRequest{SOLPayloadPacket: *p})
		if err != nil {
			return fmt.Errorf("building SOL packet: %w", err)
		}
		if _, err := sock.Write(rmcp.Pack()); err != nil {
			return fmt.Errorf("sending SOL packet to %s: %w", k.addr, err)
		}
		lastSent = time.Now()
		return nil
	}
	sendNext := func() error {
		if out != nil || time.Now().Before(hold) || (len(pending) == 0 && !brk) {
			return nil
		}
		n := min(len(pending), k.inSize)
		withBreak := brk && brkAt == 0 // the BMC sends a packet's BREAK before its data
		if brk && brkAt > 0 {
			n = min(n, brkAt)
			brkAt -= n
		}
		outSeq = nextSeq(outSeq)
		out = &flight{seq: outSeq, data: pending[:n:n], brk: withBreak}
		pending = pending[n:]
		if withBreak {
			brk = false
		}
		return k.sendFlight(out, send)
	}
	tick := time.NewTicker(retransmit / 5)
	defer tick.Stop()

	for {
		var inputCh chan []byte
		if len(pending) < maxPending {
			inputCh = k.input
		}
		select {
		case <-k.stop:
			return errors.New("closed")
		case d := <-dgrams:
			if d.err != nil {
				return fmt.Errorf("BMC %s: %w", k.addr, d.err)
			}
			var res types.SOLPayloadResponse
			if err := k.c.ParseRmcpResponse(context.Background(), d.b, types.CommandSOLPayload, &res); err != nil {
				continue // not ours, or damaged: the sender retransmits
			}
			p := &res.SOLPayloadPacket
			lastRecv = time.Now()
			if p.SequenceNumber != 0 && p.ControlByte&stDeactivated != 0 {
				return fmt.Errorf("BMC %s deactivated SOL (another session took it, or the BMC restarted)", k.addr)
			}
			data, ack := in.receive(p)
			k.deliver(data)
			if ack != nil {
				if err := send(ack); err != nil {
					return err
				}
			}
			if ok, rest := out.acked(p); ok {
				out = nil
				if len(rest) > 0 {
					pending = append(rest[:len(rest):len(rest)], pending...)
					if brk {
						brkAt += len(rest)
					}
				}
			}
			if p.ControlByte&ctlNACK != 0 {
				hold = time.Now().Add(nackPause)
			} else {
				hold = time.Time{}
			}
		case b := <-inputCh:
			if b == nil {
				brk, brkAt = true, len(pending)
			}
			pending = append(pending, b...)
		case <-tick.C:
			switch {
			case out != nil && time.Since(lastSent) >= retransmit:
				if out.tries >= maxTries {
					return fmt.Errorf("BMC %s stopped acknowledging SOL packets", k.addr)
				}
				if err := k.sendFlight(out, send); err != nil {
					return err
				}
			case out == nil && len(pending) == 0 && time.Since(lastSent) >= keepalive:
				// An empty data packet: the BMC must acknowledge it, which
				// keeps the session alive and proves the BMC is there.
				outSeq = nextSeq(outSeq)
				out = &flight{seq: outSeq}
				if err := k.sendFlight(out, send); err != nil {
					return err
				}
			}
			if time.Since(lastRecv) > keepalive+time.Duration(maxTries)*retransmit+5*time.Second {
				return fmt.Errorf("BMC %s has not answered for %v", k.addr, time.Since(lastRecv).Round(time.Second))
			}
		}
		if err := sendNext(); err != nil {
			return err
		}
	}
}

func (k *conn) sendFlight(f *flight, send func(*types.SOLPayloadPacket) error) error {
	f.tries++
	p := &types.SOLPayloadPacket{SequenceNumber: f.seq, CharacterData: f.data}
	if f.brk {
		p.ControlByte |= ctlBreak
	}
	return send(p)
}

// isSOL reports whether a datagram is an RMCP+ SOL payload.
func isSOL(b []byte) bool {
	r := &types.Rmcp{}
	if r.Unpack(b) != nil || r.Session20 == nil {
		return false
	}
	return r.Session20.SessionHeader20.PayloadType == types.PayloadTypeSOL
}

var _ io.ReadWriteCloser = (*conn)(nil)
