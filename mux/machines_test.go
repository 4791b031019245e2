package mux

import (
	"net"
	"sync"
	"testing"
)

// machineListener is a loopback listener that keeps every connection it
// accepts (the machines' side of telnet consoles, in order of
// acceptance) and closes them, and itself, when the test ends.
type machineListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func listenMachines(t *testing.T) *machineListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ml := &machineListener{Listener: ln}
	go func() {
		for {
			m, err := ln.Accept()
			if err != nil {
				return
			}
			ml.mu.Lock()
			ml.conns = append(ml.conns, m)
			ml.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		ml.mu.Lock()
		defer ml.mu.Unlock()
		for _, m := range ml.conns {
			m.Close()
		}
	})
	return ml
}

// machine is the i-th connection accepted; i < 0 counts from the last.
func (ml *machineListener) machine(i int) net.Conn {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	if i < 0 {
		i += len(ml.conns)
	}
	return ml.conns[i]
}

// isParked says whether c is with its idle clock, parked.
func isParked(c *Console) bool {
	s := c.sweeping.Load()
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.parked
}
