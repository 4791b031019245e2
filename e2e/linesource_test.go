package e2e

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// lineSource is a machine on a raw TCP port that prints numbered lines,
// perTick of them every 10 ms, to the first who connects, and remembers
// every byte it sent and when each line was printed (handed to the
// kernel).
type lineSource struct {
	ln      net.Listener
	perTick int

	mu   sync.Mutex
	sent bytes.Buffer
	at   []time.Time // line i was printed at at[i]
	ends []int       // line i ends at sent offset ends[i]

	done    chan struct{} // closed by stop
	stopped sync.Once
	ended   chan struct{} // closed when the printer has returned
}

// newLineSource starts a source printing perTick lines every 10 ms (4:
// about 12 KB/s, a 115200-baud line).
func newLineSource(t *testing.T, perTick int) *lineSource {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &lineSource{ln: ln, perTick: perTick, done: make(chan struct{}), ended: make(chan struct{})}
	go s.print()
	t.Cleanup(s.stop)
	return s
}

func (s *lineSource) print() {
	defer close(s.ended)
	c, err := s.ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; {
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
		var chunk bytes.Buffer
		var ends []int
		for j := 0; j < s.perTick; j++ {
			fmt.Fprintf(&chunk, "line-%07d the machine keeps talking\r\n", i)
			ends = append(ends, chunk.Len())
			i++
		}
		if _, err := c.Write(chunk.Bytes()); err != nil {
			return
		}
		now := time.Now()
		s.mu.Lock()
		base := s.sent.Len()
		s.sent.Write(chunk.Bytes())
		for _, e := range ends {
			s.at = append(s.at, now)
			s.ends = append(s.ends, base+e)
		}
		s.mu.Unlock()
	}
}

// stop ends the printing (and the listening) and waits until the source
// has printed its last line.
func (s *lineSource) stop() {
	s.stopped.Do(func() {
		close(s.done)
		s.ln.Close()
	})
	<-s.ended
}

// before returns how many bytes the source had sent by the end of the
// last line printed before t, and that line's number (-1 if none).
func (s *lineSource) before(t time.Time) (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, last := 0, -1
	for i, at := range s.at {
		if !at.Before(t) {
			break
		}
		n, last = s.ends[i], i
	}
	return n, last
}

// bytes is everything the source sent.
func (s *lineSource) bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.sent.Bytes()...)
}
