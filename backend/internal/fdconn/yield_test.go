package fdconn

import (
	"testing"
	"time"
)

// Yield makes a waiting Read return with nothing (the mux then gives a
// console nobody watches back to its idle clock); a Yield while no Read
// waits makes the next Read that finds nothing return, and data that has
// arrived is read first, whatever Yield said.
func TestYield(t *testing.T) {
	c, peer := pair(t)
	buf := make([]byte, 64)
	done := make(chan int, 1)
	go func() {
		n, err := c.Read(buf)
		if err != nil {
			t.Errorf("Read after Yield: %v", err)
		}
		done <- n
	}()
	time.Sleep(50 * time.Millisecond) // the reader is waiting by now (if not, Yield still holds)
	c.Yield()
	select {
	case n := <-done:
		if n != 0 {
			t.Fatalf("Read after Yield with nothing sent returned %d bytes", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still waiting after Yield")
	}

	c.Yield() // no Read waits
	if n, err := c.Read(buf); n != 0 || err != nil {
		t.Fatalf("Read after an earlier Yield: %d, %v; want 0, nil", n, err)
	}
	peer.Write([]byte("data"))
	time.Sleep(50 * time.Millisecond) // it has arrived
	c.Yield()
	if n, err := c.Read(buf); string(buf[:n]) != "data" || err != nil {
		t.Fatalf("Read with data waiting after Yield: %q, %v; want the data", buf[:n], err)
	}
	// The Yield left over makes the next empty Read return; the one after waits again.
	if n, err := c.Read(buf); n != 0 || err != nil {
		t.Fatalf("Read with a Yield left over: %d, %v; want 0, nil", n, err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		peer.Write([]byte("later"))
	}()
	if n, err := c.Read(buf); string(buf[:n]) != "later" || err != nil {
		t.Fatalf("Read: %q, %v; want it to wait for the data", buf[:n], err)
	}
}
