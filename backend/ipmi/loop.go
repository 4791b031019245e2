package ipmi

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/bougou/go-ipmi/pkg/client"
	"github.com/bougou/go-ipmi/pkg/types"
)

const (
	tickEvery  = 100 * time.Millisecond // the loop's clock
	retransmit = 500 * time.Millisecond // an unacknowledged packet is sent again
	maxTries   = 6                      // sends of one packet before the BMC counts as lost
	nackPause  = 20 * time.Millisecond  // BMC said its buffer is full

	// probeIdle: after this long without a SOL packet from the BMC, an
	// empty data packet asks it to answer. A BMC that has stopped is thus
	// noticed about probeIdle + maxTries*retransmit (5 s) after it last
	// spoke, however quiet the machine is.
	probeIdle = 2 * time.Second
	// silenceLimit ends a session the BMC has not spoken on for this long,
	// whatever else is going on: a backstop behind the probes.
	silenceLimit = probeIdle + maxTries*retransmit + 5*time.Second
)

// loop runs the SOL protocol until the conn is closed or the BMC is lost.
// It owns the socket meanwhile: a reader goroutine takes every datagram,
// passes what is not SOL on to go-ipmi (through the tap) and hands SOL
// packets to a solLoop, one event at a time with input and the clock.
func (k *conn) loop() error {
	sock := k.tap.socket()
	sock.SetReadDeadline(time.Time{}) // go-ipmi leaves its last one set
	dgrams := make(chan datagram, 64)
	quit := make(chan struct{})
	readerDone := make(chan struct{})
	go k.readSocket(sock, dgrams, quit, readerDone)
	defer func() {
		// Interrupt the reader; run then gives the socket back to go-ipmi.
		close(quit)
		sock.SetReadDeadline(time.Now())
		<-readerDone
	}()

	l := &solLoop{c: k.c, sock: sock, addr: k.addr, inSize: k.inSize, deliver: k.out.Put,
		lastSent: time.Now(), lastRecv: time.Now()}
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	for {
		var input chan []byte
		if l.wantsInput() {
			input = k.input
		}
		var err error
		select {
		case <-k.stop:
			return errClosed
		case d := <-dgrams:
			if d.err != nil {
				return fmt.Errorf("BMC %s: %w", k.addr, d.err)
			}
			err = l.datagram(d.b, time.Now())
		case b := <-input:
			l.input(b)
		case now := <-tick.C:
			err = l.tick(now)
		}
		if err == nil {
			err = l.sendNext(time.Now())
		}
		if err != nil {
			return err
		}
	}
}

type datagram struct {
	b   []byte
	err error
}

// readSocket reads datagrams until the socket fails or quit is closed.
func (k *conn) readSocket(sock net.Conn, dgrams chan<- datagram, quit <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	buf := make([]byte, 2048)
	for {
		n, err := sock.Read(buf)
		if err != nil {
			select {
			case dgrams <- datagram{err: err}:
			case <-quit:
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
		case <-quit:
			return
		}
	}
}

// solLoop is the SOL protocol state of one session: what came in, what is
// in flight to the BMC, what waits to be sent. Only the loop goroutine uses
// it, one event at a time: a datagram, input, a tick; after each, sendNext.
type solLoop struct {
	c       *client.Client
	sock    net.Conn
	addr    string
	inSize  int          // most bytes per packet to the BMC
	deliver func([]byte) // what the machine printed

	in       inbound
	out      *flight // our data packet awaiting its acknowledgement
	outSeq   uint8
	pending  []byte // input not yet sent
	brk      bool   // a BREAK is due once brkAt bytes of pending are sent
	brkAt    int
	hold     time.Time // the BMC said its buffer is full: nothing new until then
	lastSent time.Time
	lastRecv time.Time // the BMC's last SOL packet
}

// wantsInput reports whether there is room for more input.
func (l *solLoop) wantsInput() bool { return len(l.pending) < maxPending }

// datagram handles a SOL packet from the BMC: data to deliver and
// acknowledge, an acknowledgement of ours, or word that SOL was deactivated.
func (l *solLoop) datagram(b []byte, now time.Time) error {
	var res types.SOLPayloadResponse
	if err := l.c.ParseRmcpResponse(context.Background(), b, types.CommandSOLPayload, &res); err != nil {
		return nil // not ours, or damaged: the sender retransmits
	}
	p := &res.SOLPayloadPacket
	l.lastRecv = now
	if p.SequenceNumber != 0 && p.ControlByte&stDeactivated != 0 {
		return fmt.Errorf("BMC %s deactivated SOL (another session took it, or the BMC restarted)", l.addr)
	}
	data, ack := l.in.receive(p)
	l.deliver(data)
	if ack != nil {
		if err := l.send(ack, now); err != nil {
			return err
		}
	}
	if ok, rest := l.out.acked(p); ok {
		l.out = nil
		if len(rest) > 0 {
			l.pending = append(rest[:len(rest):len(rest)], l.pending...)
			if l.brk {
				l.brkAt += len(rest)
			}
		}
	}
	if p.ControlByte&ctlNACK != 0 {
		l.hold = now.Add(nackPause)
	} else {
		l.hold = time.Time{}
	}
	return nil
}

// input queues keystrokes, or a BREAK when b is nil.
func (l *solLoop) input(b []byte) {
	if b == nil {
		l.brk, l.brkAt = true, len(l.pending)
	}
	l.pending = append(l.pending, b...)
}

// tick retransmits what the BMC has not acknowledged, probes a BMC that
// has been silent, and gives up on one that does not answer.
func (l *solLoop) tick(now time.Time) error {
	switch {
	case l.out != nil && now.Sub(l.lastSent) >= retransmit:
		if l.out.tries >= maxTries {
			return fmt.Errorf("BMC %s stopped acknowledging SOL packets (silent for %v)", l.addr, now.Sub(l.lastRecv).Round(100*time.Millisecond))
		}
		if err := l.sendFlight(now); err != nil {
			return err
		}
	case l.out == nil && len(l.pending) == 0 && !l.brk &&
		now.Sub(l.lastRecv) >= probeIdle && now.Sub(l.lastSent) >= probeIdle:
		// An empty data packet: the BMC must acknowledge it, which proves
		// it is there (the machine may just be quiet).
		l.outSeq = nextSeq(l.outSeq)
		l.out = &flight{seq: l.outSeq}
		if err := l.sendFlight(now); err != nil {
			return err
		}
	}
	if now.Sub(l.lastRecv) > silenceLimit {
		return fmt.Errorf("BMC %s has not answered for %v", l.addr, now.Sub(l.lastRecv).Round(time.Second))
	}
	return nil
}

// sendNext sends the next packet of input (and a due BREAK) when nothing
// is in flight and the BMC is not holding us off.
func (l *solLoop) sendNext(now time.Time) error {
	if l.out != nil || now.Before(l.hold) || (len(l.pending) == 0 && !l.brk) {
		return nil
	}
	n := min(len(l.pending), l.inSize)
	withBreak := l.brk && l.brkAt == 0 // the BMC sends a packet's BREAK before its data
	if l.brk && l.brkAt > 0 {
		n = min(n, l.brkAt)
		l.brkAt -= n
	}
	l.outSeq = nextSeq(l.outSeq)
	l.out = &flight{seq: l.outSeq, data: l.pending[:n:n], brk: withBreak}
	l.pending = l.pending[n:]
	if withBreak {
		l.brk = false
	}
	return l.sendFlight(now)
}

// sendFlight sends (or sends again) the packet in flight.
func (l *solLoop) sendFlight(now time.Time) error {
	f := l.out
	f.tries++
	p := &types.SOLPayloadPacket{SequenceNumber: f.seq, CharacterData: f.data}
	if f.brk {
		p.ControlByte |= ctlBreak
	}
	return l.send(p, now)
}

func (l *solLoop) send(p *types.SOLPayloadPacket, now time.Time) error {
	rmcp, err := l.c.BuildRmcpRequest(context.Background(), &types.SOLPayloadRequest{SOLPayloadPacket: *p})
	if err != nil {
		return fmt.Errorf("building SOL packet: %w", err)
	}
	if _, err := l.sock.Write(rmcp.Pack()); err != nil {
		return fmt.Errorf("sending SOL packet to %s: %w", l.addr, err)
	}
	l.lastSent = now
	return nil
}

// isSOL reports whether a datagram is an RMCP+ SOL payload.
func isSOL(b []byte) bool {
	r := &types.Rmcp{}
	if r.Unpack(b) != nil || r.Session20 == nil {
		return false
	}
	return r.Session20.SessionHeader20.PayloadType == types.PayloadTypeSOL
}
