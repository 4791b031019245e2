package ipmi

import (
	"github.com/bougou/go-ipmi/pkg/types"
)

// SOL payload operation/status bits (IPMI v2.0, tables 15-2 and 15-3).
const (
	ctlNACK  = 1 << 6 // either way: packet not accepted / buffer full
	ctlBreak = 1 << 4 // console to BMC: generate a serial BREAK

	stUnavailable = 1 << 5 // BMC to console: character transfer unavailable
	stDeactivated = 1 << 4 // BMC to console: SOL deactivated
	stOverrun     = 1 << 3 // BMC to console: transmit overrun, characters lost
)

// nextSeq steps a SOL sequence number: 1..15, wrapping to 1 (0 means
// "no data, acknowledgement only").
func nextSeq(s uint8) uint8 {
	s = (s + 1) & 0x0f
	if s == 0 {
		s = 1
	}
	return s
}

// inbound is the BMC-to-console half of the SOL protocol: it turns the
// BMC's data packets, retransmissions included, into the bytes to deliver
// exactly once and the acknowledgement to send back.
type inbound struct {
	lastSeq uint8 // sequence number of the last data packet accepted
	lastLen int   // how many of its bytes were accepted
}

// receive handles a packet's data part. deliver aliases p's data.
func (in *inbound) receive(p *types.SOLPayloadPacket) (deliver []byte, ack *types.SOLPayloadPacket) {
	if p.SequenceNumber == 0 {
		return nil, nil // acknowledgement only
	}
	data := p.CharacterData
	if len(data) > 255 {
		data = data[:255] // the accepted count is one byte
	}
	if p.SequenceNumber == in.lastSeq {
		// A retransmission (our ack was lost or late); the BMC may have
		// appended to it meanwhile. Deliver only what is new.
		if len(data) > in.lastLen {
			deliver = data[in.lastLen:]
		}
	} else {
		deliver = data
	}
	if len(data) > in.lastLen || p.SequenceNumber != in.lastSeq {
		in.lastLen = len(data)
	}
	in.lastSeq = p.SequenceNumber
	return deliver, &types.SOLPayloadPacket{AckedSequenceNumber: p.SequenceNumber, AcceptedCharacterCount: uint8(len(data))}
}

// flight is a console-to-BMC data packet awaiting its acknowledgement.
type flight struct {
	seq   uint8
	data  []byte
	brk   bool
	tries int
}

// acked applies an acknowledgement to f: it reports whether p acknowledges
// f and which of f's bytes the BMC did not accept (to be sent again).
func (f *flight) acked(p *types.SOLPayloadPacket) (ok bool, rest []byte) {
	if f == nil || p.AckedSequenceNumber != f.seq {
		return false, nil
	}
	n := int(p.AcceptedCharacterCount)
	if n > len(f.data) {
		n = len(f.data)
	}
	return true, f.data[n:]
}
