package ipmi

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// solClient is one SOL client under test: consoled's backend, or ipmitool.
type solClient struct {
	r     io.Reader
	w     io.Writer
	close func()
}

func consoledSOL(b *testing.B, bm *bmc) solClient {
	c, err := (&Dialer{Options: bm.opt}).Dial(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return solClient{r: c, w: c, close: func() { c.Close() }}
}

func ipmitoolSOL(b *testing.B, bm *bmc) solClient {
	cmd := bm.ipmitool("sol", "activate")
	ptmx, err := pty.Start(cmd)
	if err != nil {
		b.Fatal(err)
	}
	var seen []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(seen, []byte("SOL Session operational")) {
		n, err := ptmx.Read(buf)
		if err != nil {
			b.Fatalf("ipmitool: %v %q", err, seen)
		}
		seen = append(seen, buf[:n]...)
	}
	return solClient{r: ptmx, w: ptmx, close: func() { cmd.Process.Kill(); cmd.Wait(); ptmx.Close() }}
}

func readFor(b *testing.B, r io.Reader, want []byte) {
	var got []byte
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(30 * time.Second)
	for !bytes.Contains(got, want) {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %q", want)
		}
		n, err := r.Read(buf)
		if err != nil {
			b.Fatal(err)
		}
		got = append(got, buf[:n]...)
		if len(got) > 1<<20 {
			got = got[len(got)-len(want):]
		}
	}
}

// BenchmarkSOL compares consoled's SOL loop with ipmitool against the same
// ipmi_sim: host-to-client throughput (16 KiB per op) and the round trip of
// a keystroke echoed by the host.
func BenchmarkSOL(b *testing.B) {
	if _, err := exec.LookPath("ipmitool"); err != nil {
		b.Skip("ipmitool missing")
	}
	for _, impl := range []struct {
		name string
		open func(*testing.B, *bmc) solClient
	}{{"consoled", consoledSOL}, {"ipmitool", ipmitoolSOL}} {
		b.Run("throughput/"+impl.name, func(b *testing.B) {
			bm := startBMC(b)
			host := bm.HostSerial()
			c := impl.open(b, bm)
			defer c.close()
			chunk := bytes.Repeat([]byte("0123456789abcdef"), 1024)
			b.SetBytes(int64(len(chunk)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				marker := []byte("END-" + strings.Repeat("x", i%7) + "\n")
				host.Write(append(append([]byte(nil), chunk...), marker...))
				readFor(b, c.r, marker)
			}
		})
		b.Run("roundtrip/"+impl.name, func(b *testing.B) {
			bm := startBMC(b)
			host := bm.HostSerial()
			go io.Copy(host, host) // the machine echoes what it is sent
			c := impl.open(b, bm)
			defer c.close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := []byte{'a' + byte(i%26)}
				c.w.Write(k)
				readFor(b, c.r, k)
			}
		})
	}
}
