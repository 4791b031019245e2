package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"consoled/backend"
)

func expect(t *testing.T, c backend.Conn, out *bytes.Buffer, want string) {
	t.Helper()
	buf := make([]byte, 4096)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %q", want, out.String())
		}
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			t.Fatalf("read: %v (have %q)", err, out.String())
		}
	}
}

func TestDemoMachine(t *testing.T) {
	c, err := (&Dialer{Hostname: "demo", LineDelay: time.Millisecond}).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out bytes.Buffer
	expect(t, c, &out, "Linux version")
	expect(t, c, &out, "demo:~# ")
	c.Write([]byte("echo hello\r"))
	expect(t, c, &out, "echo hello\r\nhello\r\ndemo:~# ")
	c.Break()
	c.Write([]byte("h"))
	expect(t, c, &out, "sysrq: HELP")
	c.Break()
	c.Write([]byte("c"))
	expect(t, c, &out, "Kernel panic - not syncing: sysrq triggered crash")
	c.Break()
	c.Write([]byte("b"))
	expect(t, c, &out, "sysrq: Resetting")
	out.Reset()
	expect(t, c, &out, "demo:~# ")
}
