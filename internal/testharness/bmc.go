// Package testharness starts the real peers of ../shared/harness for tests:
// an IPMI BMC (OpenIPMI ipmi_sim). Tests skip when the peer is missing,
// unless CONSOLED_E2E=1 (set by test.sh), which makes that a failure.
package testharness

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Dir is ../shared/harness, or $CONSOLED_HARNESS.
func Dir() string {
	if h := os.Getenv("CONSOLED_HARNESS"); h != "" {
		return h
	}
	// Tests run in their package's directory; walk up to the module root.
	wd, _ := os.Getwd()
	for d := wd; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(d), "shared", "harness")
		}
	}
	return "../shared/harness"
}

// BMC is a running ipmi_sim.
type BMC struct {
	t    testing.TB
	Dir  string
	Port int               // UDP port on 127.0.0.1
	Env  map[string]string // what start-bmc.sh printed: HOST_SERIAL, POWER_LOG, ...
	Addr string            // "127.0.0.1:PORT"
	User string
	Pass string
	env  []string
}

// freeUDPPair finds p such that UDP p and TCP p+1 are free on loopback.
func freeUDPPair(t testing.TB) int {
	for i := 0; i < 50; i++ {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := u.LocalAddr().(*net.UDPAddr).Port
		u.Close()
		if tl, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1)); err == nil {
			tl.Close()
			return p
		}
	}
	t.Fatal("no free port pair")
	return 0
}

// freeTCPPort is a TCP port free on loopback now, none of avoid (ports a
// BMC about to start will bind: the kernel may hand a port just released
// out again).
func freeTCPPort(t testing.TB, avoid ...int) int {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !slices.Contains(avoid, p) {
			return p
		}
	}
	t.Fatal("no free TCP port")
	return 0
}

// StartBMC runs start-bmc.sh in a fresh directory; extra is KEY=VALUE
// environment such as SOL_BACKEND=external. CONSOLE_PORT=auto gives the
// BMC a command console (for bmc-cmd.sh) on a free TCP port other than
// the ports it uses itself. The test's cleanup stops it.
func StartBMC(t testing.TB, extra ...string) *BMC {
	t.Helper()
	script := filepath.Join(Dir(), "ipmi", "start-bmc.sh")
	_, simErr := exec.LookPath("ipmi_sim")
	_, scriptErr := os.Stat(script)
	if simErr != nil || scriptErr != nil {
		if os.Getenv("CONSOLED_E2E") == "1" {
			t.Fatalf("ipmi_sim or %s missing (run ./test.sh)", script)
		}
		t.Skip("ipmi_sim or the harness missing (run ./test.sh)")
	}
	dir, err := os.MkdirTemp("/tmp", "cbmc") // short: ipmi_sim paths
	if err != nil {
		t.Fatal(err)
	}
	b := &BMC{t: t, Dir: dir, Port: freeUDPPair(t)}
	// SOL_BACKEND=tcp: with the default pty backend every ipmi_sim takes
	// the same UUCP lock (/var/lock/LCK..bmc-serial), so two BMCs at once
	// (parallel test packages) would fight over it.
	b.env = append([]string{fmt.Sprintf("PORT=%d", b.Port), "SOL_BACKEND=tcp"}, extra...)
	for i, e := range b.env {
		if e == "CONSOLE_PORT=auto" {
			b.env[i] = fmt.Sprintf("CONSOLE_PORT=%d", freeTCPPort(t, b.Port, b.Port+1))
		}
	}
	t.Cleanup(func() { b.Stop(); os.RemoveAll(dir) })
	b.Start()
	return b
}

// Start (re)starts ipmi_sim in the same directory on the same port.
func (b *BMC) Start() {
	b.t.Helper()
	cmd := exec.Command(filepath.Join(Dir(), "ipmi", "start-bmc.sh"), b.Dir)
	cmd.Env = append(os.Environ(), b.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.t.Fatalf("start-bmc.sh: %v\n%s%s", err, out, stderr.String())
	}
	b.Env = map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			b.Env[k] = strings.Trim(v, "'")
		}
	}
	b.Addr = fmt.Sprintf("127.0.0.1:%d", b.Port)
	b.User, b.Pass = b.Env["BMC_USER"], b.Env["BMC_PASS"]
}

// Stop stops ipmi_sim and socat by their recorded PIDs (a paused
// ipmi_sim is resumed first, so that it can end cleanly). It returns once
// the host side of the serial line is gone: socat's per-connection child
// outlives its parent for a moment and removes the host-serial link as it
// exits, which would otherwise remove the link of a BMC started at once
// after (Start) in the same directory.
func (b *BMC) Stop() {
	if pid, err := b.simPID(); err == nil {
		unix.Kill(pid, unix.SIGCONT)
	}
	exec.Command(filepath.Join(Dir(), "ipmi", "stop-bmc.sh"), b.Dir).Run()
	link := filepath.Join(b.Dir, "host-serial")
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			return
		}
	}
}

// Pause stops ipmi_sim with SIGSTOP: a BMC that stops answering, its
// socket still open. Resume (or Stop) lets it go on.
func (b *BMC) Pause() {
	b.t.Helper()
	b.signal(unix.SIGSTOP)
}

// Resume continues a paused ipmi_sim with SIGCONT.
func (b *BMC) Resume() {
	b.t.Helper()
	b.signal(unix.SIGCONT)
}

func (b *BMC) signal(sig unix.Signal) {
	b.t.Helper()
	pid, err := b.simPID()
	if err != nil {
		b.t.Fatal(err)
	}
	if err := unix.Kill(pid, sig); err != nil {
		b.t.Fatalf("signal %v to ipmi_sim (pid %d): %v", sig, pid, err)
	}
}

// simPID is the PID start-bmc.sh recorded for ipmi_sim, checked to still
// be ipmi_sim.
func (b *BMC) simPID() (int, error) {
	raw, err := os.ReadFile(filepath.Join(b.Dir, "ipmi_sim.pid"))
	if err != nil {
		return 0, fmt.Errorf("ipmi_sim's pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0, fmt.Errorf("ipmi_sim's pid %q: %w", raw, err)
	}
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if strings.TrimSpace(string(comm)) != "ipmi_sim" {
		return 0, fmt.Errorf("pid %d is %q, not ipmi_sim", pid, strings.TrimSpace(string(comm)))
	}
	return pid, nil
}

// HostSerial opens the machine's side of the SOL serial line, raw.
func (b *BMC) HostSerial() *os.File {
	b.t.Helper()
	f, err := os.OpenFile(b.Env["HOST_SERIAL"], os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		b.t.Fatal(err)
	}
	if tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
		tio.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG | unix.IEXTEN
		tio.Iflag &^= unix.ICRNL | unix.IXON
		tio.Oflag &^= unix.OPOST
		unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, tio)
	}
	b.t.Cleanup(func() { f.Close() })
	return f
}

// Cmd runs the harness's bmc-cmd.sh (such as "sel_add 0x20 ...") on the
// BMC's command console; StartBMC must have been given CONSOLE_PORT.
func (b *BMC) Cmd(command string) {
	b.t.Helper()
	args := append([]string{b.Dir}, strings.Fields(command)...)
	out, err := exec.Command(filepath.Join(Dir(), "ipmi", "bmc-cmd.sh"), args...).CombinedOutput()
	if err != nil {
		b.t.Fatalf("bmc-cmd.sh %s: %v: %s", command, err, out)
	}
}

// WaitPowerCycle waits until the simulator's chassis log (POWER_LOG) shows
// a power cycle, power set off then on, and returns the log.
func (b *BMC) WaitPowerCycle(t testing.TB, timeout time.Duration) string {
	t.Helper()
	return WaitFile(t, b.Env["POWER_LOG"], "a power cycle (set power 0, then set power 1)", func(log string) bool {
		i := strings.Index(log, "set power 0")
		return i >= 0 && strings.Contains(log[i:], "set power 1")
	}, timeout)
}
