package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// source is one machine: a TCP port speaking telnet (0xFF doubled, input
// ignored) that prints realistic console text at a fixed rate.
type source struct {
	id    int
	ln    net.Listener
	rate  int // bytes per second
	probe bool
	up    atomic.Bool
	upAt  atomic.Int64
	seq   atomic.Int64 // whole lines sent
	next  int64        // the line emit writes next (emit's own)
	sentB atomic.Int64
	// writes of console text (arrivals at the server, but for what TCP
	// merges on the way)
	writes atomic.Int64
	// probes written, on every connection (one for each server's console)
	probesSent atomic.Int64
	// lag: a sampled console that prints a LAG probe every lagEvery (see
	// lag.go); the stamps of those it wrote.
	lag      bool
	lagMu    sync.Mutex
	lagSent  []int64
	stopOnce sync.Once
	stopped  chan struct{}
}

var templates = []string{
	"[%6d.%06d] usb 1-1: new high-speed USB device number %d using xhci_hcd",
	"[%6d.%06d] EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none. opts: (null) %d",
	"\x1b[0;32m[  OK  ]\x1b[0m Started Journal Service %d.%06d unit %d",
	"[%6d.%06d] ata1.00: ATA-10: SAMSUNG MZ7LH960, 304Q, max UDMA/133 cmd %d ........................................................................................................................................................................",
	"   \x1b[1mWelcome to Debian GNU/Linux 12 (bookworm)!\x1b[0m %d %d %d",
	"[%6d.%06d] e1000e 0000:00:1f.6 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None \x07\x08 %d",
}

// line is the seq'th line of a source: deterministic, so a log can be
// checked against it. It ends with a unique tag "#<id>:<seq>".
func line(id int, seq int64) string {
	t := templates[seq%int64(len(templates))]
	return fmt.Sprintf(t, seq/1000, seq%1000000, id) + tagOf(id, seq)
}

// tagOf is the end of a line, its tag.
func tagOf(id int, seq int64) string { return fmt.Sprintf(" #%d:%d\r\n", id, seq) }

// lagStamps is the stamps of the LAG probes s wrote.
func (s *source) lagStamps() []int64 {
	s.lagMu.Lock()
	defer s.lagMu.Unlock()
	return append([]int64(nil), s.lagSent...)
}

// sourceHost is the loopback address every source of this run listens
// on: one of 127.0.0.0/8 picked per run, not 127.0.0.1. A source takes one
// connection and closes its listener, so anything else on the machine
// dialing 127.0.0.1 ports (tests of other work, which free a port and dial
// it later) could take a source's one connection before the server does,
// and the server would then record nothing of that console: lost bytes
// that were no server's doing.
var sourceHost = fmt.Sprintf("127.%d.%d.1", 100+os.Getpid()%100, 1+rand.IntN(250))

func newSource(id, rate int, probe, lag bool) (*source, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(sourceHost, "0"))
	if err != nil {
		return nil, err
	}
	s := &source{id: id, ln: ln, rate: rate, probe: probe, lag: lag, stopped: make(chan struct{})}
	go s.serve()
	return s, nil
}

func (s *source) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// addr is where the source listens, host:port.
func (s *source) addr() string { return net.JoinHostPort(sourceHost, strconv.Itoa(s.port())) }

// serve takes the server's one connection to this machine, then closes
// its listener: ten thousand sources hold ten thousand descriptors, not
// twenty (the bench's own open-file limit may be 20,000).
func (s *source) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.ln.Close()
		if !s.up.Load() {
			s.upAt.Store(time.Now().UnixNano())
			s.up.Store(true)
		}
		go s.input(c)
		go s.emit(c)
		if s.probe {
			go s.probes(c)
		}
	}
}

// input reads what the server sends the machine. A probing source answers
// each typed "KEY <n>" line at once with "ECHO <n>", as a shell echoes a
// keystroke; everything else (telnet negotiation, stray keys) is dropped.
func (s *source) input(c net.Conn) {
	buf := make([]byte, 512)
	var typed []byte
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if !s.probe {
			continue
		}
		for _, b := range buf[:n] {
			if b != '\r' && b != '\n' {
				if typed = append(typed, b); len(typed) > 64 {
					typed = append(typed[:0], typed[len(typed)-32:]...) // keep the end
				}
				continue
			}
			if i := bytes.LastIndex(typed, []byte("KEY ")); i >= 0 {
				c.Write(append(append([]byte("ECHO "), typed[i+4:]...), '\r', '\n'))
			}
			typed = typed[:0]
		}
	}
}

// probeEvery spaces the probes: each is a write of its own, so its latency
// is that of a small arrival, and there are enough for a p99.
const probeEvery = 10 * time.Millisecond

// probes writes "PROBE <UnixNano>" lines between the console text.
func (s *source) probes(c net.Conn) {
	var buf []byte
	s.every(probeEvery, func() error {
		buf = fmt.Appendf(buf[:0], "PROBE %d\r\n", time.Now().UnixNano())
		if _, err := c.Write(buf); err != nil {
			return err
		}
		s.probesSent.Add(1)
		return nil
	})
}

// tick paces the sources: a tick's worth of bytes is one write.
const tick = 50 * time.Millisecond

// emit writes the console text as a stream at the source's rate: a tick's
// worth at a time, or at a slow rate one byte at a time (5 B/s is a byte
// every 200 ms: a small arrival each), lines cut wherever the tick falls,
// as on a serial line (but for the probing source, whose probes go
// between whole lines). The first write comes at a random point of the
// first interval, so that sources do not print in lockstep. A lag source
// puts a LAG probe at the start of its first write after each lagEvery,
// where the rest of the line being written still holds its whole tag (the
// bytes-lost count finds every tag whole): lagLen bytes every lagEvery
// more than the rate, in writes it makes anyway.
func (s *source) emit(c net.Conn) {
	defer c.Close()
	if s.rate <= 0 { // silent: connected, printing nothing
		<-s.stopped
		return
	}
	every := tick
	if s.rate < 20 {
		every = time.Second / time.Duration(s.rate)
	}
	select {
	case <-s.stopped:
		return
	case <-time.After(time.Duration(rand.Int64N(int64(every)))):
	}
	budget := 0.0
	perTick := float64(s.rate) * every.Seconds()
	var cur []byte // the line being written, from its unwritten part
	var buf []byte
	var lastLag time.Time
	s.every(every, func() error {
		budget += perTick
		buf = buf[:0]
		var stamp int64
		if s.lag && time.Since(lastLag) >= lagEvery && (len(cur) == 0 || len(cur) >= len(tagOf(s.id, s.next-1))) {
			lastLag = time.Now()
			stamp = lastLag.UnixNano()
			buf = fmt.Appendf(buf, "LAG %d;\r\n", stamp)
		}
		for budget >= 1 {
			if len(cur) == 0 {
				cur = append(cur[:0], line(s.id, s.next)...)
				s.next++
			}
			k := min(len(cur), int(budget))
			if s.probe {
				k = len(cur) // whole lines: a probe never lands inside one
			}
			buf = append(buf, cur[:k]...)
			cur = cur[k:]
			budget -= float64(k)
			if len(cur) == 0 {
				s.seq.Add(1) // a whole line sent
			}
		}
		if len(buf) == 0 {
			return nil
		}
		if _, err := c.Write(buf); err != nil {
			return err
		}
		if stamp != 0 {
			s.lagMu.Lock()
			s.lagSent = append(s.lagSent, stamp)
			s.lagMu.Unlock()
		}
		s.sentB.Add(int64(len(buf)))
		s.writes.Add(1)
		return nil
	})
}

// every calls f every d until the source stops or f fails.
func (s *source) every(d time.Duration, f func() error) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-s.stopped:
			return
		case <-t.C:
		}
		if f() != nil {
			return
		}
	}
}

func (s *source) stop() { s.stopOnce.Do(func() { close(s.stopped) }) }
