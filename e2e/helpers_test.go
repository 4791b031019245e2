package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"consoled/internal/testharness"
)

var (
	binary  string // the consoled binary built for this run
	harness string // ../shared/harness
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "consoled-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "consoled")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/consoled")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building consoled:", err)
		os.Exit(1)
	}
	harness = os.Getenv("CONSOLED_HARNESS")
	if harness == "" {
		harness, _ = filepath.Abs("../../shared/harness")
	}
	code := m.Run()
	stopGuests()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need skips the test when a prerequisite is missing, or fails it when
// CONSOLED_E2E=1 says everything must be there.
func need(t testing.TB, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CONSOLED_E2E") == "1" {
		t.Fatalf("prerequisite missing: %s (run ./test.sh, which installs it)", what)
	}
	t.Skipf("prerequisite missing: %s (run ./test.sh)", what)
}

func have(cmd string) bool { _, err := exec.LookPath(cmd); return err == nil }

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// key is an ssh key pair made with ssh-keygen.
type key struct {
	Path string // private key file
	Pub  string // authorized_keys line
}

func newKey(t testing.TB, name string) key {
	t.Helper()
	need(t, "ssh-keygen (openssh-client)", have("ssh-keygen"))
	p := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@test", "-f", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(p + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return key{Path: p, Pub: strings.TrimSpace(string(pub))}
}

// daemon is a running consoled.
type daemon struct {
	t      testing.TB
	cmd    *exec.Cmd
	Dir    string // the config's directory
	Port   int
	stderr *testharness.Buffer
	exited chan struct{}
	err    error
}

// startConsoled writes cfg to DIR/consoled.hcl and runs consoled on it
// (listening on a port of its choosing); the test's cleanup stops it with
// SIGTERM and checks that it exits 0.
func startConsoled(t testing.TB, cfg string, extraArgs ...string) *daemon {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "consoled.hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-config", path, "-listen", "127.0.0.1:0"}, extraArgs...)
	return runDaemon(t, dir, exec.Command(binary, args...))
}

func runDaemon(t testing.TB, dir string, cmd *exec.Cmd) *daemon {
	t.Helper()
	d := &daemon{t: t, cmd: cmd, Dir: dir, stderr: &testharness.Buffer{}, exited: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = cmd.Wait(); pw.Close(); close(d.exited) }()
	portc := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		re := regexp.MustCompile(`msg="ssh listening" addr=127\.0\.0\.1:(\d+)`)
		for sc.Scan() {
			line := sc.Text()
			d.stderr.Write([]byte(line + "\n"))
			if m := re.FindStringSubmatch(line); m != nil {
				var p int
				fmt.Sscan(m[1], &p)
				portc <- p
			}
		}
	}()
	select {
	case d.Port = <-portc:
	case <-d.exited:
		t.Fatalf("consoled exited at start: %v\n%s", d.err, d.stderr)
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("consoled did not start listening:\n%s", d.stderr)
	}
	t.Cleanup(func() { d.Stop() })
	return d
}

// Stop sends SIGTERM (to this PID only) and checks for a clean exit.
func (d *daemon) Stop() {
	select {
	case <-d.exited:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		if d.err != nil {
			d.t.Errorf("consoled exited with %v after SIGTERM:\n%s", d.err, d.stderr)
		}
	case <-time.After(15 * time.Second):
		d.cmd.Process.Signal(syscall.SIGQUIT) // Go prints every goroutine's stack
		select {
		case <-d.exited:
		case <-time.After(5 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
		}
		d.t.Errorf("consoled did not exit within 15 s of SIGTERM:\n%s", d.stderr)
	}
}

// waitStderr waits for consoled to print want on stderr.
func (d *daemon) waitStderr(want string, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(d.stderr.String(), want) {
		if time.Now().After(deadline) {
			d.t.Fatalf("consoled did not print %q:\n%s", want, d.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sshArgs are the OpenSSH client options for talking to d as login with k.
func (d *daemon) sshArgs(k key, login string, extra ...string) []string {
	args := []string{"-F", "/dev/null", "-p", fmt.Sprint(d.Port), "-i", k.Path,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"}
	args = append(args, extra...)
	return append(args, login+"@127.0.0.1")
}

// ssh runs a non-interactive ssh command and returns stdout, stderr and the
// exit code.
func (d *daemon) ssh(k key, stdin string, remote ...string) (string, string, int) {
	d.t.Helper()
	need(d.t, "ssh (openssh-client)", have("ssh"))
	cmd := exec.Command("ssh", append(d.sshArgs(k, "console"), remote...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		d.t.Fatalf("ssh %v hung; stdout %q stderr %q", remote, out.String(), errb.String())
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// waitState polls `list` until console name reports state.
func (d *daemon) waitState(k key, name, state string) string {
	d.t.Helper()
	return d.waitList(k, name, state, "")
}

// waitList polls `list` until console name reports state and its line
// contains text.
func (d *daemon) waitList(k key, name, state, text string) string {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _, _ := d.ssh(k, "", "list")
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 && f[0] == name && f[2] == state && strings.Contains(line, text) {
				return line
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("console %s not %s with %q; list:\n%s\nconsoled:\n%s", name, state, text, out, d.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// term is an interactive ssh client in a pty, as a person runs it.
type term struct {
	t    testing.TB
	cmd  *exec.Cmd
	ptmx *os.File
	out  *testharness.Buffer
	mark int // Expect searches from here
	done chan struct{}
}

func (d *daemon) interactive(k key, login string, remote ...string) *term {
	d.t.Helper()
	return d.interactiveWith(nil, k, login, remote...)
}

// interactiveWith is interactive with ssh options that come first (and so
// win over sshArgs' defaults, e.g. "-o", "LogLevel=INFO").
func (d *daemon) interactiveWith(opts []string, k key, login string, remote ...string) *term {
	d.t.Helper()
	need(d.t, "ssh (openssh-client)", have("ssh"))
	args := append(append(append([]string{}, opts...), d.sshArgs(k, login, "-t")...), remote...)
	cmd := exec.Command("ssh", args...)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		d.t.Fatal(err)
	}
	tm := &term{t: d.t, cmd: cmd, ptmx: ptmx, out: &testharness.Buffer{}, done: make(chan struct{})}
	go func() {
		io.Copy(tm.out, ptmx)
		cmd.Wait()
		close(tm.done)
	}()
	d.t.Cleanup(func() { tm.Close() })
	return tm
}

func (tm *term) Send(s string) {
	tm.t.Helper()
	if _, err := tm.ptmx.Write([]byte(s)); err != nil {
		tm.t.Fatalf("typing %q: %v", s, err)
	}
}

// Expect waits until the output after the previous match matches re and
// returns the match.
func (tm *term) Expect(re string, timeout time.Duration) string {
	tm.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		s := tm.out.String()
		if loc := rx.FindStringIndex(s[tm.mark:]); loc != nil {
			m := s[tm.mark+loc[0] : tm.mark+loc[1]]
			tm.mark += loc[1]
			return m
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("no match for %q within %v; output since last match:\n%q", re, timeout, s[tm.mark:])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Wait waits for ssh to exit and returns its exit code.
func (tm *term) Wait(timeout time.Duration) int {
	tm.t.Helper()
	select {
	case <-tm.done:
		return tm.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		tm.t.Fatalf("ssh did not exit; output:\n%q", tm.out.String())
		return -1
	}
}

func (tm *term) Close() {
	select {
	case <-tm.done:
	default:
		tm.cmd.Process.Kill()
		<-tm.done
	}
	tm.ptmx.Close()
}
