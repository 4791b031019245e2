package mux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"consoled/backend/telnet"
	"consoled/logstore"
)

// stressMachine is one machine of TestNoByteLostUnderChurn: a loopback
// telnet port that prints numbered lines in pieces of random size, at a
// pace of its kind, hangs up now and then (cleanly: its console reads
// everything before the end of the stream), and takes the console's next
// connection. sent is every byte a write took, in order.
type stressMachine struct {
	name string
	kind int
	ln   net.Listener

	mu    sync.Mutex
	sent  []byte
	cur   net.Conn           // the connection it prints on
	pause chan chan struct{} // a request to stop printing: closed when it has

	resume chan struct{}
	stop   chan struct{}
	done   chan struct{}
	hangup bool        // it may hang up on its own
	unseen atomic.Bool // it hung up, and its console never closed the connection
}

// stressKinds is how the machines print: a byte or a few now and then, a
// steady trickle, bursts of many kilobytes after a pause, a line rarely.
const stressKinds = 4

func (m *stressMachine) nextPiece(r *rand.Rand, seq *int, pending []byte) ([]byte, time.Duration) {
	var want int
	var wait time.Duration
	switch m.kind {
	case 0:
		want, wait = 1+r.IntN(20), time.Duration(1+r.IntN(30))*time.Millisecond
	case 1:
		want, wait = 100+r.IntN(500), time.Duration(5+r.IntN(15))*time.Millisecond
	case 2:
		want, wait = 2<<10+r.IntN(20<<10), time.Duration(r.IntN(300))*time.Millisecond
	default:
		want, wait = 20+r.IntN(60), time.Duration(200+r.IntN(600))*time.Millisecond
	}
	for len(pending) < want {
		filler := bytes.Repeat([]byte{byte('a' + *seq%26)}, r.IntN(120))
		pending = fmt.Appendf(pending, "%s line %d %s\r\n", m.name, *seq, filler)
		*seq++
	}
	return pending, wait
}

// run serves connection after connection until stop.
func (m *stressMachine) run(seed uint64) {
	defer close(m.done)
	r := rand.New(rand.NewPCG(seed, 1))
	seq := 0
	var pending []byte
	for {
		nc, err := m.ln.Accept()
		if err != nil {
			return
		}
		tc := nc.(*net.TCPConn)
		m.mu.Lock()
		m.cur = tc
		m.mu.Unlock()
		gone := make(chan struct{})
		go func() { io.Copy(io.Discard, tc); close(gone) }() // negotiation, keystrokes
		for quit := false; !quit; {
			var wait time.Duration
			pending, wait = m.nextPiece(r, &seq, pending)
			k := 1 + r.IntN(len(pending)) // lines cut anywhere
			select {
			case <-time.After(wait):
			case <-m.stop:
				tc.Close()
				return
			case ack := <-m.pause:
				close(ack) // nothing in flight: all it wrote is in m.sent
				<-m.resume
				<-gone // the console stopped: consoled closed the connection
				quit = true
				continue
			case <-gone: // consoled closed it (its console stopped)
				quit = true
				continue
			}
			n, err := tc.Write(pending[:k])
			m.mu.Lock()
			m.sent = append(m.sent, pending[:n]...)
			m.mu.Unlock()
			pending = append(pending[:0], pending[n:]...)
			if err != nil {
				break
			}
			if m.hangup && r.IntN(200) == 0 {
				// A clean hang-up: consoled reads to the end of the stream.
				tc.CloseWrite()
				select {
				case <-gone:
				case <-m.stop:
					select {
					case <-gone:
					case <-time.After(10 * time.Second):
						m.unseen.Store(true) // its console never saw the hang-up
					}
				}
				quit = true
			}
		}
		tc.Close()
	}
}

func (m *stressMachine) printed() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.sent...)
}

// logged is what the machine's console recorded of it (marks left out).
func logged(lg *logstore.Log) []byte {
	lg.Flush()
	b, _ := os.ReadFile(lg.Path())
	return logstore.MachineBytes(b)
}

// Every byte a machine prints reaches its console's log, in order, however
// the console is handed between its reader, its idle clock and the clock's
// parked set: many telnet consoles printing at various paces (a byte now
// and then, a trickle, bursts of kilobytes), clients attaching and
// detaching all the time on random consoles (reading, or not reading, or
// typing; half the consoles only, so that a console of the other half
// that stops being read stays so), machines hanging up (each noticed) and
// consoles reconnecting, consoles stopped and started again. MUX_STRESS=30s runs
// it longer, MUX_STRESS_CONSOLES=400 with more consoles.
func TestNoByteLostUnderChurn(t *testing.T) {
	length := 3 * time.Second
	if v := os.Getenv("MUX_STRESS"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("MUX_STRESS=%q: %v", v, err)
		}
		length = d
	}
	n := 40
	if v := os.Getenv("MUX_STRESS_CONSOLES"); v != "" {
		if _, err := fmt.Sscan(v, &n); err != nil || n < 2 {
			t.Fatalf("MUX_STRESS_CONSOLES=%q: want a number of consoles, at least 2", v)
		}
	}
	dir := t.TempDir()
	machines := make([]*stressMachine, n)
	logs := make([]*logstore.Log, n)
	cons := make([]atomic.Pointer[Console], n)
	dones := make([]chan struct{}, n)
	start := func(i int) {
		// One interval for all, as consoled has: one clock. (Clocks of two
		// intervals would share the poller's parked set, and one's harvest
		// could take an arrival on a console the other is about to park.)
		c := New(Config{Name: machines[i].name, Dialer: &telnet.Dialer{Address: machines[i].ln.Addr().String()},
			Log: logs[i], Logger: quiet, IdleRead: 5 * time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
		done := make(chan struct{})
		dones[i] = done
		cons[i].Store(c)
		c.Start(func() { close(done) })
	}
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		m := &stressMachine{name: fmt.Sprintf("s%02d", i), kind: i % stressKinds, ln: ln,
			pause: make(chan chan struct{}), resume: make(chan struct{}), stop: make(chan struct{}),
			done: make(chan struct{}), hangup: i%3 == 1}
		machines[i] = m
		if logs[i], err = logstore.Open(dir, m.name, logstore.Options{}); err != nil {
			t.Fatal(err)
		}
		go m.run(uint64(i))
		start(i)
	}
	stopAll := func() {
		for i := range n {
			cons[i].Load().Stop(errors.New("test over"))
			<-dones[i]
			logs[i].Close()
		}
	}
	defer func() {
		for _, m := range machines {
			m.ln.Close()
		}
	}()

	// everyLogged waits until each machine's console logged all it printed;
	// it names those that did not in time, and where they stand.
	everyLogged := func(what string, which []int, within time.Duration) bool {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			var behind []string
			for _, i := range which {
				want, got := machines[i].printed(), logged(logs[i])
				if !bytes.Equal(want, got) {
					behind = append(behind, describeBehind(cons[i].Load(), machines[i].name, want, got))
				}
			}
			if len(behind) == 0 {
				return true
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: %d consoles did not log all their machines printed within %v:", what, len(behind), within)
				for _, b := range behind {
					t.Error("  " + b)
				}
				return false
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	end := make(chan struct{})
	var wg sync.WaitGroup
	var attaches, restarts atomic.Int64
	for w := range 6 { // clients on random consoles
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 2))
			for {
				select {
				case <-end:
					return
				default:
				}
				c := cons[r.IntN(n/2)].Load() // the others nobody rescues from a stall
				cl := c.Attach("u", "stress", r.IntN(2) == 0)
				attaches.Add(1)
				hold := time.Duration(r.IntN(40)) * time.Millisecond
				switch r.IntN(4) {
				case 0: // in and out at once
				case 1: // reads
					ctx, cancel := context.WithTimeout(context.Background(), hold)
					for {
						if _, err := cl.Next(ctx); err != nil {
							break
						}
					}
					cancel()
				case 2: // types
					cl.Write([]byte("ls\r"))
					time.Sleep(hold)
				default: // takes nothing
					time.Sleep(hold)
				}
				cl.Close()
				time.Sleep(time.Duration(r.IntN(3)) * time.Millisecond)
			}
		}()
	}
	wg.Add(1)
	go func() { // stop a console and start it again, its machine paused
		defer wg.Done()
		r := rand.New(rand.NewPCG(7, 3))
		for {
			select {
			case <-end:
				return
			case <-time.After(time.Duration(50+r.IntN(150)) * time.Millisecond):
			}
			i := r.IntN(n)
			m := machines[i]
			ack := make(chan struct{})
			select {
			case m.pause <- ack:
			case <-end:
				return
			}
			<-ack
			// What it printed is all recorded before the console stops (a
			// stop may lose what is in flight, by definition): if not, a
			// console stalled.
			ok := everyLogged("before a stop", []int{i}, 20*time.Second)
			cons[i].Load().Stop(errors.New("restarted"))
			<-dones[i]
			start(i)
			m.resume <- struct{}{}
			restarts.Add(1)
			if !ok {
				return
			}
		}
	}()
	time.Sleep(length)
	close(end)
	wg.Wait()
	for _, m := range machines {
		close(m.stop)
		// One waiting for its console to come back stops too. Its port
		// stays bound until the consoles stop: a console dialing it again
		// must not reach another test's listener that took it.
		m.ln.(*net.TCPListener).SetDeadline(time.Now())
	}
	deadline := time.After(30 * time.Second)
	for i, m := range machines {
		select {
		case <-m.done:
			continue
		case <-deadline:
		}
		// Still in a write: its console stopped reading it.
		t.Errorf("a machine's write waited 30 s: %s", describeBehind(cons[i].Load(), m.name, m.printed(), logged(logs[i])))
		m.mu.Lock()
		m.cur.Close()
		m.mu.Unlock()
		<-m.done
	}
	for i, m := range machines {
		if m.unseen.Load() {
			t.Errorf("a machine hung up and its console did not notice: %s", describeBehind(cons[i].Load(), m.name, m.printed(), logged(logs[i])))
		}
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	var total int
	for _, m := range machines {
		total += len(m.printed())
	}
	everyLogged("at the end", all, 30*time.Second)
	t.Logf("%d consoles, %d bytes printed, %d attaches, %d restarts", n, total, attaches.Load(), restarts.Load())
	stopAll()
}

// describeBehind says how far a console's log is behind its machine, and
// where the console stands: read by a goroutine, in its clock's list, or
// parked.
func describeBehind(c *Console, name string, want, got []byte) string {
	at := 0
	for at < len(want) && at < len(got) && want[at] == got[at] {
		at++
	}
	where := "read by a goroutine (or down)"
	if s := c.sweeping.Load(); s != nil {
		s.mu.Lock()
		switch {
		case s.over:
			where = "its sweep over, not resumed"
		case s.parked:
			where = "parked with its clock"
		default:
			where = "in its clock's list"
		}
		s.mu.Unlock()
	}
	st := c.Status()
	return fmt.Sprintf("%s: printed %d bytes, logged %d, same up to %d; %s, %s (%v), %d connections, %d clients",
		name, len(want), len(got), at, where, st.State, st.Err, st.Ups, len(c.Clients()))
}
