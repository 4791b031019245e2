package ipmi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"consoled/internal/testharness"
)

type bmc struct {
	*testharness.BMC
	opt Options
}

func startBMC(t testing.TB, extra ...string) *bmc {
	b := testharness.StartBMC(t, extra...)
	return &bmc{BMC: b, opt: Options{Address: b.Addr, User: b.User, Password: b.Pass, CipherSuite: 3}}
}

func (b *bmc) hostSerial() *os.File { return b.HostSerial() }

// ipmitool runs the reference client against this BMC.
func (b *bmc) ipmitool(args ...string) *exec.Cmd {
	port := strings.Split(b.opt.Address, ":")[1]
	return exec.Command("ipmitool", append([]string{"-I", "lanplus", "-H", "127.0.0.1", "-p", port,
		"-U", b.opt.User, "-P", b.opt.Password, "-C", "3"}, args...)...)
}

func readUntil(t *testing.T, r interface{ Read([]byte) (int, error) }, want []byte, timeout time.Duration) []byte {
	t.Helper()
	var got []byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for !bytes.Contains(got, want) {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				t.Logf("read: %v", err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		t.Fatalf("timed out; have %d bytes, want %q", len(got), want)
	}
	if !bytes.Contains(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	return got
}

// Bytes both ways through a real SOL session: what the host prints reaches
// the console, a 4 KiB paste reaches the host intact and in order.
func TestSOLBothWays(t *testing.T) {
	b := startBMC(t)
	host := b.hostSerial()
	c, err := (&Dialer{Options: b.opt}).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	host.Write([]byte("login: "))
	readUntil(t, c, []byte("login: "), 10*time.Second)

	var pb bytes.Buffer // 4 KiB of numbered lines: any loss or reordering shows
	for i := 0; pb.Len() < 4096; i++ {
		fmt.Fprintf(&pb, "line %04d of the paste\n", i)
	}
	paste := pb.Bytes()[:4096]
	start := time.Now()
	if _, err := c.Write(paste); err != nil {
		t.Fatal(err)
	}
	got := readUntil(t, host, paste[len(paste)-40:], 20*time.Second)
	if !bytes.Equal(got, paste) {
		t.Fatalf("host received %d bytes, not the 4096 pasted in order", len(got))
	}
	t.Logf("4 KiB paste delivered in %v", time.Since(start))

	// Output that arrives in bursts bigger than one packet.
	var bb bytes.Buffer
	for i := 0; bb.Len() < 16384; i++ {
		fmt.Fprintf(&bb, "output %05d\r\n", i)
	}
	big := bb.Bytes()
	host.Write(big)
	readUntil(t, c, big, 20*time.Second)
}

func TestSOLInUseAndSteal(t *testing.T) {
	b := startBMC(t)
	c, err := (&Dialer{Options: b.opt}).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// ipmitool is refused while we hold the payload.
	out, err := b.ipmitool("sol", "activate").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "SOL payload already active on another session") {
		t.Errorf("ipmitool sol activate while consoled holds SOL: %v\n%s", err, out)
	}
	// Without steal a second session is refused clearly; with steal it
	// takes over and the first learns it was deactivated.
	if _, err := (&Dialer{Options: b.opt}).Dial(context.Background()); err == nil || !strings.Contains(err.Error(), "already active on another session") {
		t.Errorf("second activation: %v", err)
	}
	c2, err := (&Dialer{Options: b.opt, Steal: true}).Dial(context.Background())
	if err != nil {
		t.Fatalf("steal: %v", err)
	}
	defer c2.Close()
	buf := make([]byte, 64)
	c.(*conn).Write([]byte("x")) // provoke traffic on the old session
	errc := make(chan error, 1)
	go func() {
		for {
			if _, err := c.Read(buf); err != nil {
				errc <- err
				return
			}
		}
	}()
	select {
	case err := <-errc:
		t.Logf("old session ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Error("the displaced session did not notice")
	}
}

func TestWrongPassword(t *testing.T) {
	b := startBMC(t)
	opt := b.opt
	opt.Password = "wrong"
	start := time.Now()
	_, err := (&Dialer{Options: opt}).Dial(context.Background())
	if err == nil || !strings.Contains(err.Error(), "logging in to BMC "+opt.Address+" as admin: wrong password") {
		t.Fatalf("wrong password: %v", err)
	}
	t.Logf("refused in %v: %v", time.Since(start), err)
}

func TestPower(t *testing.T) {
	b := startBMC(t)
	p := &Power{Options: b.opt}
	ctx := context.Background()
	if got, err := p.Do(ctx, "status"); err != nil || got != "power is on" {
		t.Fatalf("status: %q %v", got, err)
	}
	if _, err := p.Do(ctx, "off"); err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Do(ctx, "status"); got != "power is off" {
		t.Errorf("after off: %q", got)
	}
	if _, err := p.Do(ctx, "on"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(b.Env["POWER_LOG"], nil, 0o644)
	if _, err := p.Do(ctx, "cycle"); err != nil {
		t.Fatal(err)
	}
	b.WaitPowerCycle(t, 10*time.Second)
	if _, err := p.Do(ctx, "explode"); err == nil {
		t.Error("unknown action accepted")
	}
}

// BREAK over SOL reaches the host's serial side (with SOL_BACKEND=external
// the simulator writes a break as the bytes FF F3 into the stream).
func TestSOLBreak(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serialPort := ln.Addr().(*net.TCPAddr).Port
	b := startBMC(t, "SOL_BACKEND=external", fmt.Sprintf("SOL_TCP_PORT=%d", serialPort))
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
	host, err := ln.Accept() // ipmi_sim connects to "the machine"
	if err != nil {
		t.Fatalf("ipmi_sim did not connect to the serial side: %v", err)
	}
	defer host.Close()
	c, err := (&Dialer{Options: b.opt}).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Break(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("h")) // the SysRq key, right after the BREAK
	readUntil(t, host, []byte{0xFF, 0xF3, 'h'}, 10*time.Second)
}

// With steal = true consoled takes the SOL payload back from an ipmitool
// session someone left open.
func TestStealFromIpmitool(t *testing.T) {
	b := startBMC(t)
	tool := b.ipmitool("sol", "activate") // as a person runs it: in a terminal
	ptmx, err := pty.Start(tool)
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	toolOut := &testharness.Buffer{}
	go io.Copy(toolOut, ptmx)
	exited := make(chan error, 1)
	go func() { exited <- tool.Wait() }()
	defer func() { tool.Process.Kill(); <-exited }()

	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(toolOut.String(), "SOL Session operational") {
		if time.Now().After(deadline) {
			t.Fatalf("ipmitool did not activate SOL:\n%s", toolOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := (&Dialer{Options: b.opt}).Dial(context.Background()); err == nil || !strings.Contains(err.Error(), "already active") {
		t.Fatalf("without steal while ipmitool holds SOL: %v", err)
	}
	c, err := (&Dialer{Options: b.opt, Steal: true}).Dial(context.Background())
	if err != nil {
		t.Fatalf("steal from ipmitool: %v", err)
	}
	defer c.Close()
	host := b.hostSerial()
	host.Write([]byte("stolen-ok"))
	readUntil(t, c, []byte("stolen-ok"), 10*time.Second)
	select {
	case <-exited:
		t.Logf("ipmitool ended: %s", strings.TrimSpace(toolOut.String()))
	case <-time.After(2 * time.Second):
		t.Logf("ipmitool still running after losing SOL (it notices on its next packet)")
	}
}
