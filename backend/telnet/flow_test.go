package telnet

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"
)

// A machine that stops reading while it prints (a flow-controlled line)
// holds up a write of input; meanwhile the reader must still get the
// machine's output, even when answering its negotiation is due. The answer
// follows once the machine reads again.
func TestReadWhileInputIsHeldUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const input = 32 << 20 // more than the loopback socket buffers hold
	answered := make(chan bool, 1)
	resume := make(chan struct{}) // the machine reads again
	go func() {
		s, err := ln.Accept()
		if err != nil {
			answered <- false
			return
		}
		defer s.Close()
		s.SetDeadline(time.Now().Add(time.Minute))
		var got []byte
		buf := make([]byte, 64<<10)
		for !bytes.Contains(got, []byte("xx")) { // the write of input has begun
			n, err := s.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				answered <- false
				return
			}
		}
		// Stop reading, and print something that needs an answer.
		s.Write([]byte{'h', 'e', 'l', 'l', 'o', IAC, DO, 24, 'w', 'o', 'r', 'l', 'd'})
		<-resume
		want := []byte{IAC, WONT, 24}
		tail := got[max(0, len(got)-2):]
		for {
			n, err := s.Read(buf)
			tail = append(tail, buf[:n]...)
			if bytes.Contains(tail, want) {
				answered <- true
				return
			}
			if err != nil {
				answered <- false
				return
			}
			tail = tail[max(0, len(tail)-2):]
		}
	}()

	c, err := (&Dialer{Address: ln.Addr().String()}).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wrote := make(chan error, 1)
	go func() { _, err := c.Write(bytes.Repeat([]byte("x"), input)); wrote <- err }()

	read := make(chan string, 1)
	go func() {
		var out []byte
		buf := make([]byte, 64)
		for len(out) < len("helloworld") {
			n, err := c.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				break
			}
		}
		read <- string(out)
	}()
	select {
	case got := <-read:
		close(resume)
		if got != "helloworld" {
			t.Errorf("read %q, want \"helloworld\"", got)
		}
	case <-time.After(20 * time.Second):
		close(resume)
		t.Fatal("the machine's output was not read while a write of input was held up")
	}
	select {
	case ok := <-answered:
		if !ok {
			t.Error("the machine never got the answer to its negotiation")
		}
	case <-time.After(time.Minute):
		t.Fatal("the machine never got the answer to its negotiation")
	}
	if err := <-wrote; err != nil {
		t.Errorf("writing input: %v", err)
	}
}
