package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	bugst "go.bug.st/serial"
	"golang.org/x/sys/unix"

	"consoled/backend"
	"consoled/internal/testharness"
	"consoled/logstore"
	"consoled/mux"
)

// newLine makes a pty pair: the slave is the "serial device" consoled opens,
// the master is the machine at the other end of the cable.
func newLine(t *testing.T) (machine *os.File, device string) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	device = s.Name()
	s.Close()
	t.Cleanup(func() { m.Close() })
	return m, device
}

func TestBytesBothWaysAndSettings(t *testing.T) {
	m, dev := newLine(t)
	d := &Dialer{Device: dev, Baud: 115200, Parity: "even", DataBits: 7, StopBits: 2, Flow: "rtscts", BreakLen: 250 * time.Millisecond}
	c, err := d.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m.Write([]byte("login: "))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "login: " {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	c.Write([]byte("root\r"))
	n, _ = m.Read(buf)
	if string(buf[:n]) != "root\r" {
		t.Errorf("machine got %q (raw mode should pass CR untouched)", buf[:n])
	}
	// On Linux the master reports the slave's termios: check what was set.
	tio, err := unix.IoctlGetTermios(int(m.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Cflag&unix.CRTSCTS == 0 {
		t.Error("rtscts flow control not set")
	}
	// Linux ptys force CS8 and no parity, so of 7E2 only the stop bits
	// show here; TestMode checks the rest of the mapping.
	if tio.Cflag&unix.CSTOPB == 0 {
		t.Errorf("two stop bits not set: cflag %#o", tio.Cflag)
	}
	if got := d.Describe(); got != dev+" 115200 7E2 flow=rtscts break=250ms" {
		t.Errorf("Describe = %q", got)
	}
	// BREAK holds the line for break_ms. (A pty has no line to break, so
	// the ioctls succeed and only the timing can be checked here; the
	// telnet tests send a BREAK that a real kernel sees.)
	start := time.Now()
	if err := c.Break(); err != nil {
		t.Fatalf("Break: %v", err)
	}
	if el := time.Since(start); el < 250*time.Millisecond || el > 2*time.Second {
		t.Errorf("Break took %v, want 250ms", el)
	}
}

func TestMode(t *testing.T) {
	m, err := (&Dialer{Device: "x", Parity: "odd", StopBits: 1.5, DataBits: 5, Baud: 300}).withDefaults().mode()
	if err != nil || m.Parity != bugst.OddParity || m.StopBits != bugst.OnePointFiveStopBits || m.DataBits != 5 || m.BaudRate != 300 {
		t.Errorf("mode %+v, %v", m, err)
	}
	if _, err := (Dialer{Parity: "sometimes", StopBits: 1}).mode(); err == nil {
		t.Error("bad parity accepted")
	}
}

func TestFlowControlApplied(t *testing.T) {
	for _, flow := range []string{"none", "xonxoff", "rtscts"} {
		m, dev := newLine(t)
		c, err := (&Dialer{Device: dev, Flow: flow}).Dial(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", flow, err)
		}
		tio, _ := unix.IoctlGetTermios(int(m.Fd()), unix.TCGETS)
		rts, xon := tio.Cflag&unix.CRTSCTS != 0, tio.Iflag&unix.IXON != 0
		if rts != (flow == "rtscts") || xon != (flow == "xonxoff") {
			t.Errorf("flow %s: crtscts=%v ixon=%v", flow, rts, xon)
		}
		c.Close()
	}
}

func TestClearErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	cases := []struct{ dev, want string }{
		{filepath.Join(dir, "ttyUSB9"), "does not exist (unplugged?)"},
		{dir, "is a directory, not a serial device"},
		{file, "is not a serial device"},
		{"/dev/null", "/dev/null is not a tty"},
	}
	for _, tc := range cases {
		_, err := (&Dialer{Device: tc.dev}).Dial(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.dev, err, tc.want)
		}
	}
	_, err := (&Dialer{Device: filepath.Join(dir, "gone")}).Dial(context.Background())
	if !errors.Is(err, backend.ErrNoDevice) {
		t.Errorf("missing device is not ErrNoDevice: %v", err)
	}
}

// A device held open exclusively by consoled is refused to others, and the
// refusal names the holder. Root bypasses TIOCEXCL, so when the test runs
// as root the second opener runs as nobody; otherwise as the same user.
func TestExclusive(t *testing.T) {
	if dev := os.Getenv("CONSOLED_SERIAL_BUSY_DEV"); dev != "" {
		_, err := (&Dialer{Device: dev}).Dial(context.Background())
		fmt.Println("RESULT:", err)
		return
	}
	_, dev := newLine(t)
	c, err := (&Dialer{Device: dev}).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	os.Chmod(dev, 0o666)
	// The test binary must be reachable by nobody: copy it out of the
	// private build directory.
	bin := filepath.Join(os.TempDir(), fmt.Sprintf("consoled-serial-helper-%d", os.Getpid()))
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(bin)
	cmd := exec.Command(bin, "-test.run=^TestExclusive$")
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "CONSOLED_SERIAL_BUSY_DEV="+dev)
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Logf("helper: %v", err)
	}
	if want := dev + " is busy: another program has it open exclusively"; !strings.Contains(string(out), want) {
		t.Errorf("second opener got:\n%s\nwant %q", out, want)
	}
}

// holders names who has a device open (as far as /proc lets us see).
func TestHolders(t *testing.T) {
	_, dev := newLine(t)
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("sleep", "30")
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if got, want := holders(dev), fmt.Sprintf(" (pid %d sleep)", cmd.Process.Pid); got != want {
		t.Errorf("holders = %q, want %q", got, want)
	}
}

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// 100 unplug/replug cycles of a "USB adapter" (a pty pair behind a stable
// symlink, as /dev/serial/by-id gives): the console comes back every time,
// the log marks every gap, and no goroutine or fd is left behind.
func TestUnplugReplugNoLeaks(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "usb-FTDI-if00-port0")
	lg, err := logstore.Open(dir, "web07", logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	con := mux.New(mux.Config{Name: "web07", Dialer: &Dialer{Device: link}, Log: lg,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	go func() { con.Run(ctx); close(done) }()

	plug := func(i int) *os.File {
		m, s, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		os.Remove(link)
		if err := os.Symlink(s.Name(), link); err != nil {
			t.Fatal(err)
		}
		s.Close()
		return m
	}
	waitState := func(want mux.State) {
		deadline := time.Now().Add(5 * time.Second)
		for con.Status().State != want {
			if time.Now().After(deadline) {
				t.Fatalf("state %s, want %s (%v)", con.Status().State, want, con.Status().Err)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// One cycle first, so lazily started runtime goroutines are counted.
	m := plug(0)
	waitState(mux.StateUp)
	m.Close()
	os.Remove(link)
	waitState(mux.StateDown)
	runtime.GC()
	goroutines, fds := runtime.NumGoroutine(), countFDs(t)

	const cycles = 100
	for i := 1; i <= cycles; i++ {
		m := plug(i)
		waitState(mux.StateUp)
		fmt.Fprintf(m, "cycle %d\r\n", i)
		deadline := time.Now().Add(5 * time.Second)
		for con.Status().BytesIn == 0 || !strings.Contains(readAll(lg.Path()), fmt.Sprintf("cycle %d\r\n", i)) {
			if time.Now().After(deadline) {
				t.Fatalf("cycle %d not logged", i)
			}
			time.Sleep(time.Millisecond)
		}
		m.Close()       // unplug: the tty hangs up...
		os.Remove(link) // ...and its node vanishes
		waitState(mux.StateDown)
	}
	time.Sleep(50 * time.Millisecond)
	runtime.GC()
	if g := runtime.NumGoroutine(); g > goroutines+2 {
		t.Errorf("goroutines: %d before, %d after %d cycles", goroutines, g, cycles)
	}
	if f := countFDs(t); f > fds {
		t.Errorf("fds: %d before, %d after %d cycles", fds, f, cycles)
	}
	cancel(errors.New("test over"))
	<-done
	log := readAll(lg.Path())
	if n := strings.Count(log, "console up"); n != cycles+1 {
		t.Errorf("%d up marks for %d plug-ins", n, cycles+1)
	}
	if n := strings.Count(log, "console down"); n < cycles+1 {
		t.Errorf("%d down marks for %d unplugs", n, cycles+1)
	}
}

func readAll(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b)
}

// Quiet lines waiting in Read park goroutines, not OS threads: the
// library's own Read waits in select, a thread per console.
func TestQuietLinesHoldNoThreads(t *testing.T) {
	testharness.LimitProcs(t)
	before := testharness.Threads(t)
	const n = 50
	for i := 0; i < n; i++ {
		m, dev := newLine(t)
		c, err := (&Dialer{Device: dev, Baud: 115200}).Dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got := make(chan string, 1)
		go func() {
			buf := make([]byte, 64)
			n, _ := c.Read(buf)
			got <- string(buf[:n])
			c.Read(buf) // then wait, quietly
		}()
		m.Write([]byte("ok"))
		if s := <-got; s != "ok" {
			t.Fatalf("line %d read %q", i, s)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if after := testharness.Threads(t); after > before+10 {
		t.Errorf("%d threads before, %d with %d quiet serial lines", before, after, n)
	}
}

// TryRead takes what arrived without waiting and says when nothing has.
func TestTryRead(t *testing.T) {
	m, dev := newLine(t)
	c, err := (&Dialer{Device: dev, Baud: 115200}).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tr := c.(backend.TryReader)
	buf := make([]byte, 64)
	start := time.Now()
	if n, err := tr.TryRead(buf); n != 0 || err != backend.ErrNothingYet {
		t.Fatalf("TryRead on a quiet line: %d, %v", n, err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("TryRead waited %v", d)
	}
	m.Write([]byte("boot: "))
	var got []byte
	for deadline := time.Now().Add(5 * time.Second); string(got) != "boot: "; {
		n, err := tr.TryRead(buf)
		if err != nil && err != backend.ErrNothingYet {
			t.Fatalf("TryRead: %v", err)
		}
		got = append(got, buf[:n]...)
		if time.Now().After(deadline) {
			t.Fatalf("TryRead got %q", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Read blocks again afterwards (no timeout left behind).
	done := make(chan string, 1)
	go func() {
		n, _ := c.Read(buf)
		done <- string(buf[:n])
	}()
	select {
	case s := <-done:
		t.Fatalf("Read returned %q before anything was sent", s)
	case <-time.After(200 * time.Millisecond):
	}
	m.Write([]byte("x"))
	if s := <-done; s != "x" {
		t.Fatalf("Read %q", s)
	}
}
