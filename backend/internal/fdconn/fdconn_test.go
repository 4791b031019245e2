package fdconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// pair returns a Conn dialed to a loopback listener and the server's end.
func pair(t *testing.T) (*Conn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	tc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromTCP(tc.(*net.TCPConn))
	if err != nil {
		t.Fatal(err)
	}
	peer := (<-accepted).(*net.TCPConn)
	t.Cleanup(func() { c.Close(); peer.Close() })
	return c, peer
}

func readAll(t *testing.T, c *Conn) ([]byte, error) {
	t.Helper()
	var got []byte
	buf := make([]byte, 7)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return got, err
		}
	}
}

func TestReadWaitsThenSeesDataAndEOF(t *testing.T) {
	c, peer := pair(t)
	go func() {
		time.Sleep(50 * time.Millisecond) // the reader is waiting by now
		peer.Write([]byte("hello, "))
		time.Sleep(20 * time.Millisecond)
		peer.Write([]byte("console\r\n"))
		peer.CloseWrite()
	}()
	got, err := readAll(t, c)
	if err != io.EOF || string(got) != "hello, console\r\n" {
		t.Fatalf("read %q, %v; want the text then EOF", got, err)
	}
}

// The case Go's poller tricks get wrong: the last data and the FIN arrive
// together while nobody is reading; both must be seen.
func TestDataAndFINTogetherWhileNotReading(t *testing.T) {
	c, peer := pair(t)
	buf := make([]byte, 64)
	peer.Write([]byte("first"))
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "first" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	peer.Write([]byte("last words"))
	peer.CloseWrite()
	time.Sleep(50 * time.Millisecond) // both have arrived before the next read
	got, err := readAll(t, c)
	if err != io.EOF || string(got) != "last words" {
		t.Fatalf("read %q, %v; want the last words then EOF", got, err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	c, _ := pair(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read still waiting after Close")
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
}

// A write larger than the socket buffers waits for the peer to read.
func TestWriteWaitsForRoom(t *testing.T) {
	c, peer := pair(t)
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	got := make(chan []byte, 1)
	go func() {
		time.Sleep(100 * time.Millisecond) // let the buffers fill first
		b, _ := io.ReadAll(peer)
		got <- b
	}()
	n, err := c.Write(want)
	if err != nil || n != len(want) {
		t.Fatalf("Write: %d, %v", n, err)
	}
	c.Close()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("peer read %d bytes, want %d", len(b), len(want))
	}
}

func TestPeerResetIsAnError(t *testing.T) {
	c, peer := pair(t)
	peer.SetLinger(0) // close sends RST
	peer.Close()
	_, err := readAll(t, c)
	if err == nil || err == io.EOF {
		t.Fatalf("read after RST: %v, want a reset error", err)
	}
}

// Many connections opened and closed leave no descriptor behind.
func TestNoDescriptorLeak(t *testing.T) {
	count := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatalf("counting descriptors: %v", err) // consoled runs on Linux, which has /proc
		}
		return len(ents)
	}
	pair(t) // the poller's own descriptor exists from here on
	before := count()
	for i := 0; i < 200; i++ {
		c, peer := pair(t)
		peer.Write([]byte("x"))
		c.Read(make([]byte, 1))
		c.Close()
		peer.Close()
	}
	if after := count(); after > before+2 {
		t.Fatalf("%d descriptors open after 200 connections, %d before", after, before)
	}
}
