package e2e

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// agent is a running ssh-agent holding some keys, in that order.
type agent struct{ sock string }

func startAgent(t *testing.T, keys ...key) agent {
	t.Helper()
	need(t, "ssh-agent (openssh-client)", have("ssh-agent") && have("ssh-add"))
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The socket file appears at bind, before listen: wait until a
		// connection is accepted, or ssh-add may be refused.
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ssh-agent did not create its socket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, k := range keys {
		add := exec.Command("ssh-add", "-q", k.Path)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("ssh-add %s: %v %s", k.Path, err, out)
		}
	}
	return agent{sock: sock}
}

// sshVia runs ssh offering the agent's keys (and no key file), from the
// loopback source address src.
func (d *daemon) sshVia(a agent, src string, remote ...string) (string, string, int) {
	d.t.Helper()
	return d.sshViaLevel(a, src, "ERROR", remote...)
}

// sshViaLevel is sshVia with ssh's LogLevel (INFO shows the SSH banner).
func (d *daemon) sshViaLevel(a agent, src, level string, remote ...string) (string, string, int) {
	d.t.Helper()
	args := []string{"-F", "/dev/null", "-p", strconv.Itoa(d.Port), "-b", src, "-o", "IdentitiesOnly=no",
		"-o", "IdentityAgent=" + a.sock, "-o", "IdentityFile=/dev/null/none", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=" + level, "console@127.0.0.1"}
	cmd := exec.Command("ssh", append(args, remote...)...)
	cmd.Env = append(os.Environ(), "HOME="+d.t.TempDir()) // no default identities
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

func strangers(t *testing.T, n int) []key {
	var ks []key
	for i := 0; i < n; i++ {
		ks = append(ks, newKey(t, "stranger"+strconv.Itoa(i)))
	}
	return ks
}

func auditLines(t *testing.T, d *daemon, substr string) []string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "audit.log"))
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// A person whose ssh-agent holds several other keys before the right one
// logs in, again and again: keys offered are not failures.
func TestAgentWithManyKeys(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+demoConsole)
	a := startAgent(t, append(strangers(t, 8), alice)...)
	for i := 0; i < 6; i++ {
		if out, errOut, code := d.sshVia(a, "127.0.0.1", "list"); code != 0 || !strings.HasPrefix(out, "demo ") {
			t.Fatalf("login %d with 8 other keys first: exit %d %q %q", i+1, code, out, errOut)
		}
	}
	if refused := auditLines(t, d, `"action":"login"`); len(refused) != 0 {
		t.Errorf("successful logins audited as refusals:\n%s", strings.Join(refused, "\n"))
	}
}

// A connection that offers three unknown keys is one refused login in the
// audit log, naming the keys.
func TestRefusedLoginAuditedOnce(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+demoConsole)
	a := startAgent(t, strangers(t, 3)...)
	// A port probe (connect, read the banner, hang up) is no login attempt.
	probe, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(d.Port))
	if err != nil {
		t.Fatal(err)
	}
	probe.SetReadDeadline(time.Now().Add(10 * time.Second))
	probe.Read(make([]byte, 64))
	probe.Close()
	if _, errOut, code := d.sshVia(a, "127.0.0.1", "list"); code != 255 || !strings.Contains(errOut, "Permission denied") {
		t.Fatalf("unknown keys: exit %d %q", code, errOut)
	}
	audit := testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "audit.log"), `"action":"login"`, 10*time.Second)
	time.Sleep(200 * time.Millisecond) // a second record, were there one, is written at once after the first
	lines := auditLines(t, d, `"action":"login"`)
	if len(lines) != 1 || !strings.Contains(lines[0], "3 key(s) refused") || !strings.Contains(lines[0], "SHA256:") ||
		!strings.Contains(lines[0], `"from":"127.0.0.1:`) {
		t.Errorf("want one refusal naming 3 keys, got:\n%s", audit)
	}
}

// Failed connections block their address only: others, and an address that
// also logs people in (a bastion), carry on; the blocked client is told why.
func TestAuthRateLimit(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+demoConsole)
	bad := startAgent(t, strangers(t, 2)...)
	good := startAgent(t, alice)
	// The bastion: alice logs in from it, and so does a broken script.
	if _, errOut, code := d.sshVia(good, "127.0.0.4", "list"); code != 0 {
		t.Fatalf("alice from the bastion: %d %q", code, errOut)
	}
	// 35 failed connections from each address, 5 at a time (the 30 that
	// block must fall within a minute, even on a loaded machine).
	for _, src := range []string{"127.0.0.3", "127.0.0.4"} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		sem := make(chan struct{}, 5)
		for i := 0; i < 35; i++ {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				if _, errOut, code := d.sshVia(bad, src, "list"); code != 255 {
					mu.Lock()
					t.Errorf("unknown keys from %s: exit %d %q", src, code, errOut)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	d.waitStderr(`msg="ssh address blocked`, 10*time.Second)
	if blocks := auditLines(t, d, `"action":"block"`); len(blocks) != 1 || !strings.Contains(blocks[0], `"from":"127.0.0.3"`) {
		t.Errorf("want one block of 127.0.0.3 in the audit log, got:\n%s", strings.Join(blocks, "\n"))
	}
	_, errOut, code := d.sshViaLevel(good, "127.0.0.3", "INFO", "list") // ssh shows banners at INFO, its default
	if code != 255 || !strings.Contains(errOut, "consoled: too many failed logins from 127.0.0.3") {
		t.Errorf("a good key from the blocked address: exit %d, stderr %q", code, errOut)
	}
	if out, errOut, code := d.sshVia(good, "127.0.0.4", "list"); code != 0 || !strings.HasPrefix(out, "demo ") {
		t.Errorf("alice from the bastion after its failures: exit %d %q", code, errOut)
	}
	if out, errOut, code := d.sshVia(good, "127.0.0.1", "list"); code != 0 || !strings.HasPrefix(out, "demo ") {
		t.Errorf("alice from another address: exit %d %q", code, errOut)
	}
	if strings.Contains(d.stderr.String(), `from=127.0.0.4 failures`) {
		t.Errorf("the bastion was blocked:\n%s", d.stderr)
	}
}
