package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// flowMachine is a telnet machine on a loopback port that behaves like a
// flow-controlled line: once typed input starts to arrive it prints `print`
// at loopback speed without reading meanwhile, then reads everything typed
// until `want` bytes have come. It does not negotiate (consoled's requests
// are read and dropped), so data passes unchanged both ways as long as it
// holds no 0xFF and no CR.
type flowMachine struct {
	ln    net.Listener
	print []byte
	want  int
	got   chan []byte // what was typed, once `want` bytes came or the connection ended
}

func newFlowMachine(t *testing.T, print []byte, want int) *flowMachine {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &flowMachine{ln: ln, print: print, want: want, got: make(chan []byte, 1)}
	go m.serve()
	t.Cleanup(func() { ln.Close() })
	return m
}

func (m *flowMachine) serve() {
	c, err := m.ln.Accept()
	if err != nil {
		m.got <- nil
		return
	}
	defer c.Close()
	var in bytes.Buffer
	var iac int // bytes of an IAC command still to skip
	buf := make([]byte, 32<<10)
	read := func() error {
		n, err := c.Read(buf)
		for _, b := range buf[:n] {
			switch {
			case iac > 0:
				iac--
			case b == 0xFF:
				iac = 2 // IAC DO/DONT/WILL/WONT option: consoled sends nothing else
			default:
				in.WriteByte(b)
			}
		}
		return err
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	for in.Len() == 0 {
		if read() != nil {
			m.got <- in.Bytes()
			return
		}
	}
	// The first keys came: print everything, reading nothing meanwhile.
	if _, err := c.Write(m.print); err != nil {
		m.got <- in.Bytes()
		return
	}
	for in.Len() < m.want {
		if read() != nil {
			break
		}
	}
	m.got <- in.Bytes()
}

func (m *flowMachine) addr() string { return m.ln.Addr().String() }

// lines is n bytes of numbered text lines (no CR, no 0xFF).
func lines(prefix string, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s %07d the quick brown fox jumps over the lazy dog\n", prefix, i)
	}
	return b.Bytes()[:n]
}

// A script types 1 MiB into a machine that stops reading while it prints
// 1 MiB at loopback speed (a flow-controlled line). The script reads all the
// time: it must get every byte printed, and the machine every byte typed.
func TestRawBurstBothWays(t *testing.T) {
	need(t, "ssh (openssh-client)", have("ssh"))
	alice := newKey(t, "alice")
	typed, printed := lines("in", 1<<20), lines("out", 1<<20)
	m := newFlowMachine(t, printed, len(typed))
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf(`
console "flow" {
  telnet { address = %q }
}
`, m.addr()))
	d.waitState(alice, "flow", "up")

	stdin := filepath.Join(t.TempDir(), "typed")
	if err := os.WriteFile(stdin, typed, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(stdin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("ssh", append(d.sshArgs(alice, "console"), "flow")...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("ssh did not finish; stderr %q; consoled:\n%s", errb.String(), d.stderr)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("ssh exited %d; stderr %q", code, errb.String())
	}
	if !bytes.Equal(out.Bytes(), printed) {
		t.Errorf("the client got %d bytes of the %d printed (first difference at %d); stderr %q",
			out.Len(), len(printed), firstDiff(out.Bytes(), printed), errb.String())
	}
	var got []byte
	select {
	case got = <-m.got:
	case <-time.After(time.Minute):
		t.Fatal("the machine never finished reading")
	}
	if !bytes.Equal(got, typed) {
		t.Errorf("the machine got %d bytes of the %d typed (first difference at %d); ssh stderr %q",
			len(got), len(typed), firstDiff(got, typed), errb.String())
	}
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) == len(b) {
		return -1
	}
	return n
}
