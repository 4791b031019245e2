package ipmi

import (
	"bytes"
	"testing"

	"github.com/bougou/go-ipmi/pkg/types"
)

func TestInboundRetransmissions(t *testing.T) {
	var in inbound
	var got []byte
	feed := func(seq uint8, data string) *types.SOLPayloadPacket {
		d, ack := in.receive(&types.SOLPayloadPacket{SequenceNumber: seq, CharacterData: []byte(data)})
		got = append(got, d...)
		return ack
	}
	if ack := feed(1, "hello"); ack.AckedSequenceNumber != 1 || ack.AcceptedCharacterCount != 5 {
		t.Errorf("ack %+v", ack)
	}
	feed(1, "hello")       // resend: nothing new
	feed(1, "hello world") // resend with more appended
	feed(2, "!")
	if ack := feed(0, ""); ack != nil {
		t.Errorf("ack-only packet acknowledged: %+v", ack)
	}
	if string(got) != "hello world!" {
		t.Errorf("delivered %q", got)
	}
}

func TestFlightPartialAccept(t *testing.T) {
	f := &flight{seq: 3, data: []byte("0123456789")}
	if ok, _ := f.acked(&types.SOLPayloadPacket{AckedSequenceNumber: 2, AcceptedCharacterCount: 10}); ok {
		t.Error("ack of another packet accepted")
	}
	ok, rest := f.acked(&types.SOLPayloadPacket{AckedSequenceNumber: 3, AcceptedCharacterCount: 4})
	if !ok || string(rest) != "456789" {
		t.Errorf("partial accept: %v %q", ok, rest)
	}
	if ok, rest := f.acked(&types.SOLPayloadPacket{AckedSequenceNumber: 3, AcceptedCharacterCount: 200}); !ok || len(rest) != 0 {
		t.Errorf("over-count accept: %v %q", ok, rest)
	}
}

func TestNextSeq(t *testing.T) {
	s := uint8(0)
	for i := 0; i < 40; i++ {
		s = nextSeq(s)
		if s == 0 || s > 15 {
			t.Fatalf("sequence %d", s)
		}
	}
}

// FuzzSOLPackets feeds arbitrary wire packets through the parser and the
// inbound state machine: no panics, never more bytes delivered than carried,
// and an ack that never claims more than the packet held.
func FuzzSOLPackets(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 'h', 'i'}, []byte{1, 0, 0, 0, 'h', 'i', '!'})
	f.Add([]byte{0, 3, 2, 0x40}, []byte{2, 0, 0, 0x10})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var in inbound
		fl := &flight{seq: 3, data: []byte("abc")}
		total, carried := 0, 0
		for _, wire := range [][]byte{a, b, a} {
			var p types.SOLPayloadPacket
			if p.Unpack(wire) != nil {
				continue
			}
			carried += len(p.CharacterData)
			d, ack := in.receive(&p)
			total += len(d)
			if ack != nil && int(ack.AcceptedCharacterCount) > len(p.CharacterData) {
				t.Fatalf("ack claims %d of %d bytes", ack.AcceptedCharacterCount, len(p.CharacterData))
			}
			if ok, rest := fl.acked(&p); ok && !bytes.HasSuffix(fl.data, rest) {
				t.Fatalf("rest %q is not a tail of %q", rest, fl.data)
			}
		}
		if total > carried {
			t.Fatalf("delivered %d bytes of %d carried", total, carried)
		}
	})
}
