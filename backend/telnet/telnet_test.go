package telnet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestConnOverTCP runs the client against a loopback listener playing a
// terminal server: the negotiation is answered, data comes through clean,
// 0xFF is doubled on the way out and Break is IAC BRK. (The end-to-end tests
// use qemu's real telnet server.)
func TestConnOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		s.Write([]byte{IAC, WILL, OptEcho, IAC, DO, OptBinary, 'o', 'k', IAC, IAC})
		s.SetReadDeadline(time.Now().Add(5 * time.Second))
		var all []byte
		buf := make([]byte, 256)
		for !bytes.HasSuffix(all, []byte{IAC, BRK}) {
			n, err := s.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- all
	}()

	d := &Dialer{Address: ln.Addr().String()}
	c, err := d.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 3)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ok\xff" {
		t.Fatalf("read %q, %v; want \"ok\\xff\"", buf, err)
	}
	if _, err := c.Write([]byte{'a', 0xFF}); err != nil {
		t.Fatal(err)
	}
	if err := c.Break(); err != nil {
		t.Fatal(err)
	}
	all := <-got
	for _, want := range [][]byte{{IAC, DO, OptEcho}, {'a', IAC, IAC}, {IAC, BRK}} {
		if !bytes.Contains(all, want) {
			t.Errorf("server did not receive %v in %v", want, all)
		}
	}
}

func TestDialIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		// A kernel or container without IPv6 has no ::1, and no package the
		// test command could install gives it one: skip, but say so on
		// stderr so a CI log shows the test did not run.
		fmt.Fprintf(os.Stderr, "TestDialIPv6: SKIPPED, no IPv6 loopback on this machine: %v\n", err)
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer ln.Close()
	go func() {
		if s, err := ln.Accept(); err == nil {
			s.Write([]byte("v6"))
			s.Close()
		}
	}()
	c, err := (&Dialer{Address: ln.Addr().String()}).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := io.ReadAll(c)
	if string(b) != "v6" {
		t.Errorf("read %q over IPv6", b)
	}
}
