package mux

import (
	"sync"
	"testing"
	"time"
)

// Clients attaching and detaching all the time while the machine prints
// never leave a console read by two goroutines at once (the race detector
// and the connection staying up say so): a client that attaches just as
// the reader hands the console to its idle clock stops that hand-over
// once, and only one of them reads on.
func TestAttachChurnOneReader(t *testing.T) {
	c, machine, _, _ := tcpConsole(t, 2*time.Millisecond)
	waitFor(t, "console up", func() bool { return c.Status().State == StateUp })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the machine prints a little, often
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			machine.Write([]byte("x\r\n"))
			time.Sleep(200 * time.Microsecond)
		}
	}()
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.Attach("alice", "test", false).Close()
				time.Sleep(time.Duration(w) * 100 * time.Microsecond)
			}
		}()
	}
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	if st := c.Status(); st.State != StateUp || st.Ups != 1 {
		t.Errorf("console %s after %d connections (%v); want up on the first", st.State, st.Ups, st.Err)
	}
}
