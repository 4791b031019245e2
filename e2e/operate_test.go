package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"consoled/internal/testharness"
)

func shConsole(name, prompt string) string {
	return fmt.Sprintf(`
console %q {
  exec { command = ["/bin/sh", "-c", "PS1='%s$ ' exec /bin/sh -i"] }
}
`, name, prompt)
}

// Reload: added consoles start, removed ones stop (clients told why),
// changed ones restart, unchanged ones and their clients are not touched;
// a bad config is refused with file:line and the running one stays.
func TestReload(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	users := userBlock("alice", alice) + userBlock("bob", bob) + "admins = [\"alice\"]\n"
	d := startConsoled(t, users+shConsole("keep", "keep")+shConsole("change", "old")+shConsole("drop", "drop"))
	for _, n := range []string{"keep", "change", "drop"} {
		d.waitState(alice, n, "up")
	}
	keep := d.interactive(alice, "console", "keep")
	keep.Expect(`attached to keep read-write`, 10*time.Second)
	change := d.interactive(alice, "console", "change")
	change.Expect(`read-write`, 10*time.Second)
	drop := d.interactive(alice, "console", "drop")
	drop.Expect(`read-write`, 10*time.Second)

	cfgPath := filepath.Join(d.Dir, "consoled.hcl")
	os.WriteFile(cfgPath, []byte(users+shConsole("keep", "keep")+shConsole("change", "new")+shConsole("added", "added")), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	change.Expect(`disconnected: console's configuration changed; attach again`, 10*time.Second)
	drop.Expect(`disconnected: console removed from the configuration`, 10*time.Second)
	d.waitStderr(`consoles: 1 added [added], 1 removed [drop], 1 changed [change], 1 unchanged`, 10*time.Second)
	keep.Send("echo still-here-$((20+1))\r")
	keep.Expect(`still-here-21`, 5*time.Second) // never disconnected
	d.waitState(alice, "added", "up")
	if out, _, _ := d.ssh(alice, "", "list"); strings.Contains(out, "drop") {
		t.Errorf("removed console still listed:\n%s", out)
	}
	log, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "keep.log"))
	if strings.Count(string(log), "console up") != 1 {
		t.Errorf("the unchanged console was restarted:\n%s", log)
	}

	// A bad config: refused with file:line, the running configuration stays.
	os.WriteFile(cfgPath, []byte(users+shConsole("keep", "keep")+"console \"broken\" {\n  colour = \"blue\"\n}\n"), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitStderr(cfgPath+":", 10*time.Second)
	d.waitStderr("reload refused; the running configuration stays", 5*time.Second)
	_, errOut, code := d.ssh(alice, "", "reload")
	if code != 1 || !strings.Contains(errOut, cfgPath+":") || !strings.Contains(errOut, "Unsupported argument") {
		t.Errorf("ssh reload of a bad config: %d %q", code, errOut)
	}
	d.waitState(alice, "added", "up") // still running
	if _, errOut, code := d.ssh(bob, "", "reload"); code != 2 || !strings.Contains(errOut, "not an admin") {
		t.Errorf("reload by a non-admin: %d %q", code, errOut)
	}
	os.WriteFile(cfgPath, []byte(users+shConsole("keep", "keep")), 0o600)
	// reload takes no console: "reload keep" is refused and applies nothing
	// (the reload after it still finds both consoles to remove).
	if _, errOut, code := d.ssh(alice, "", "reload", "keep"); code != 2 || !strings.Contains(errOut, "usage: reload") {
		t.Errorf("reload keep: %d %q", code, errOut)
	}
	out, _, code := d.ssh(alice, "", "reload")
	if code != 0 || !strings.Contains(out, "2 removed [added change]") {
		t.Errorf("ssh reload: %d %q", code, out)
	}
}

// metrics_listen serves Prometheus metrics and /healthz.
func TestMetrics(t *testing.T) {
	alice, stranger := newKey(t, "alice"), newKey(t, "stranger")
	d := startConsoled(t, userBlock("alice", alice)+`metrics_listen = "127.0.0.1:0"`+"\n"+shConsole("m1", "m1"))
	m := regexp.MustCompile(`msg="metrics listening" addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(d.stderr.String())
	if m == nil {
		d.waitStderr("metrics listening", 5*time.Second)
		m = regexp.MustCompile(`msg="metrics listening" addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(d.stderr.String())
	}
	base := "http://" + m[1]
	d.waitState(alice, "m1", "up")
	d.ssh(stranger, "", "list")
	if out, _, code := d.ssh(alice, "echo hello\n", "m1"); code != 0 || !strings.Contains(out, "hello") {
		t.Fatalf("m1: %d %q", code, out)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`consoled_console_state{console="m1",state="up"} 1`,
		`consoled_console_bytes_in_total{console="m1"}`,
		`consoled_console_bytes_out_total{console="m1"} 11`,
		`consoled_log_bytes_written_total{console="m1"}`,
		`consoled_ssh_auth_failures_total `,
		`consoled_ssh_auth_success_total `,
		`go_goroutines `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if regexp.MustCompile(`consoled_ssh_auth_failures_total 0\n`).Match(body) {
		t.Errorf("the refused key was not counted")
	}
	resp, err = http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz: %v %v", resp, err)
	}
}

// Abuse: garbage on the SSH port, a 1 MiB command line, a huge window, an
// unknown subcommand: each gets a clear answer and consoled carries on.
func TestAbuse(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+demoConsole)
	d.waitState(alice, "demo", "up")

	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(d.Port))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("GET / HTTP/1.0\r\n\r\n\x00\xff\xfe garbage \x1b[2J\r\n"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.ReadAll(c) // the server answers with its banner and hangs up
	c.Close()

	long := make([]string, 8)
	for i := range long {
		long[i] = strings.Repeat("x", 128<<10-1)
	}
	out, errOut, code := d.ssh(alice, "", long...)
	if code == 0 {
		t.Errorf("1 MiB command line accepted: %q", out)
	}
	// Over the SSH packet maximum (256 KiB) the SSH layer drops the
	// connection before consoled sees the command; consoled says why.
	t.Logf("1 MiB command line: exit %d, %q", code, strings.TrimSpace(errOut))
	d.waitStderr("ssh connection dropped: the client sent an SSH packet over 256 KiB", 10*time.Second)
	testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "audit.log"), "SSH packet over 256 KiB", 10*time.Second)
	_, errOut, code = d.ssh(alice, "", strings.Repeat("y", 70000))
	if code != 2 || !strings.Contains(errOut, "command line too long") {
		t.Errorf("70 KB command line: %d %q", code, errOut)
	}
	if _, errOut, code := d.ssh(alice, "", "frobnicate", "--now"); code != 2 || !strings.Contains(errOut, `no console or command "frobnicate"`) {
		t.Errorf("unknown subcommand: %d %q", code, errOut)
	}

	// A client with an absurd terminal size.
	tm := d.interactive(alice, "console", "demo")
	tm.Expect(`read-write`, 10*time.Second)
	pty.Setsize(tm.ptmx, &pty.Winsize{Rows: 65535, Cols: 65535})
	tm.Send("echo big-window\r")
	tm.Expect(`big-window`, 5*time.Second)

	if out, _, code := d.ssh(alice, "", "list"); code != 0 || !strings.HasPrefix(out, "demo ") {
		t.Errorf("consoled unwell after abuse: %d %q", code, out)
	}
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
