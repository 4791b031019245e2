package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// sshFrom runs ssh with key k from loopback source address src, with extra
// options (which come first, so they win over the defaults).
func (d *daemon) sshFrom(k key, src string, extra []string, remote ...string) (string, string, int) {
	d.t.Helper()
	need(d.t, "ssh (openssh-client)", have("ssh"))
	args := append(append([]string{"-b", src}, extra...), d.sshArgs(k, "console")...)
	cmd := exec.Command("ssh", append(args, remote...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader("")
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
		}
	}()
	cmd.Run()
	close(done)
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// Key options: from= admits a key only from matching addresses,
// expiry-time ends it, restrict takes the terminal away; a keys_file line
// with an option consoled cannot honour is refused at start with file:line.
func TestKeyOptions(t *testing.T) {
	alice, bob, carol, carol2 := newKey(t, "alice"), newKey(t, "bob"), newKey(t, "carol"), newKey(t, "carol2")
	keysFile := filepath.Join(t.TempDir(), "bob.keys")
	os.WriteFile(keysFile, []byte("# bob, from the lab only\nfrom=\"127.0.0.0/30,!127.0.0.2\" "+bob.Pub+"\n"), 0o600)
	cfg := fmt.Sprintf(`user "alice" {
  keys = [%q]
}
user "bob" {
  keys_file = %q
}
user "carol" {
  keys = [%q, %q]
}
`, `from="127.0.0.1" `+alice.Pub, keysFile, `expiry-time="20200101Z" `+carol.Pub, `restrict `+carol2.Pub) + demoConsole
	d := startConsoled(t, cfg)
	for _, c := range []struct {
		k    key
		src  string
		ok   bool
		note string
	}{
		{alice, "127.0.0.1", true, "from=127.0.0.1"},
		{alice, "127.0.0.2", false, "not from 127.0.0.2"},
		{bob, "127.0.0.3", true, "in 127.0.0.0/30"},
		{bob, "127.0.0.2", false, "not from 127.0.0.2"},
		{bob, "127.0.0.5", false, "not from 127.0.0.5"},
		{carol, "127.0.0.1", false, "expired"},
	} {
		out, errOut, code := d.sshFrom(c.k, c.src, nil, "list")
		if (code == 0) != c.ok || (c.ok && !strings.HasPrefix(out, "demo ")) {
			t.Errorf("%s from %s (%s): exit %d %q %q", c.k.Path, c.src, c.note, code, out, errOut)
		}
		if !c.ok {
			testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "audit.log"), c.note, 10*time.Second)
		}
	}
	if audit, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "audit.log")); !strings.Contains(string(audit), "bob.keys:2") {
		t.Errorf("a refusal by from= does not name the keys file line:\n%s", audit)
	}

	// restrict: no terminal, but commands and raw sessions work.
	_, errOut, _ := d.sshFrom(carol2, "127.0.0.1", []string{"-tt"}, "list")
	if !strings.Contains(errOut, "PTY allocation request failed") {
		t.Errorf("restrict key asking for a terminal: %q", errOut)
	}
	if out, errOut, code := d.sshFrom(carol2, "127.0.0.1", nil, "list"); code != 0 || !strings.HasPrefix(out, "demo ") {
		t.Errorf("restrict key running list: %d %q %q", code, out, errOut)
	}

	// An option consoled cannot honour stops it from starting, naming the line.
	os.WriteFile(keysFile, []byte(bob.Pub+"\ncommand=\"/bin/backup\" "+bob.Pub+"\n"), 0o600)
	cfgPath := filepath.Join(t.TempDir(), "bad.hcl")
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	out, err := exec.Command(binary, "-check", "-config", cfgPath).CombinedOutput()
	if err == nil || !strings.Contains(string(out), keysFile+":2,1-1: Invalid public key; option command= is not supported") {
		t.Errorf("-check with a command= key: %v %s", err, out)
	}
}

// The embedded default reads ~/.ssh/authorized_keys with the same rules:
// from= holds.
func TestEmbeddedDefaultKeyOptions(t *testing.T) {
	home := t.TempDir()
	me := newKey(t, "me")
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	os.WriteFile(filepath.Join(home, ".ssh", "authorized_keys"), []byte(`from="127.0.0.1" `+me.Pub+"\n"), 0o600)
	data := filepath.Join(t.TempDir(), "state")
	cmd := exec.Command(binary, "-data", data, "-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "HOME="+home)
	d := runDaemon(t, data, cmd)
	if out, errOut, code := d.sshFrom(me, "127.0.0.1", nil, "list"); code != 0 || !strings.HasPrefix(out, "demo ") {
		t.Errorf("from 127.0.0.1: %d %q %q", code, out, errOut)
	}
	if _, errOut, code := d.sshFrom(me, "127.0.0.2", nil, "list"); code != 255 {
		t.Errorf("from 127.0.0.2 let in: %d %q", code, errOut)
	}

	// An option it cannot honour: consoled does not start, and says where.
	os.WriteFile(filepath.Join(home, ".ssh", "authorized_keys"), []byte("# backups\ncommand=\"/bin/backup\" "+me.Pub+"\n"), 0o600)
	cmd = exec.Command(binary, "-data", filepath.Join(t.TempDir(), "state"), "-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "HOME="+home)
	done := make(chan []byte)
	go func() { out, _ := cmd.CombinedOutput(); done <- out }()
	select {
	case out := <-done:
		if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(string(out), filepath.Join(home, ".ssh", "authorized_keys")+":2: option command= is not supported") {
			t.Errorf("embedded default with a command= key: exit %d %s", cmd.ProcessState.ExitCode(), out)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("consoled started with a key option it cannot honour")
	}
}

// Forwarding and environment requests from the real ssh client are refused
// (consoled logs each refusal), and the session carries on; an unbalanced
// quote is an error.
func TestForwardingRefused(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+demoConsole)
	info := []string{"-o", "LogLevel=INFO"}

	// -R: the server refuses to listen.
	_, errOut, code := d.sshFrom(alice, "127.0.0.1", append(info, "-o", "ExitOnForwardFailure=yes", "-R", "127.0.0.1:0:127.0.0.1:9"), "list")
	if code != 255 || !strings.Contains(errOut, "remote port forwarding failed") {
		t.Errorf("-R: exit %d %q", code, errOut)
	}
	d.waitStderr(`msg="ssh request refused" request=tcpip-forward what="port forwarding"`, 10*time.Second)

	// -L: the client listens, the server refuses the channel.
	lport := freePort(t)
	tm := d.interactiveWith([]string{"-o", "LogLevel=INFO", "-L", "127.0.0.1:" + strconv.Itoa(lport) + ":127.0.0.1:" + strconv.Itoa(d.Port)}, alice, "console", "demo")
	tm.Expect(`attached to demo`, 10*time.Second)
	var c net.Conn
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if c, err = net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(lport)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssh -L did not listen: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, _ := c.Read(make([]byte, 64)); n != 0 {
		t.Error("-L: data came through a refused forward")
	}
	c.Close()
	tm.Expect(`open failed: administratively prohibited: port forwarding is not allowed`, 10*time.Second)
	d.waitStderr(`msg="ssh request refused" request=direct-tcpip what="port forwarding"`, 10*time.Second)
	tm.Send("\x05c.")
	tm.Wait(10 * time.Second)

	// -X: the x11-req is answered no.
	x := exec.Command("ssh", append(append([]string{"-o", "LogLevel=INFO", "-X"}, d.sshArgs(alice, "console")...), "list")...)
	x.Env = append(os.Environ(), "DISPLAY=127.0.0.1:99", "XAUTHORITY=/dev/null")
	out, _ := x.CombinedOutput()
	if !strings.Contains(string(out), "X11 forwarding request failed") || !strings.Contains(string(out), "demo ") {
		t.Errorf("-X: %s", out)
	}

	// -A and SetEnv: OpenSSH asks without wanting an answer; consoled says no
	// and logs it, and the command runs.
	a := startAgent(t, alice)
	if out, errOut, code := d.sshFrom(alice, "127.0.0.1", []string{"-A", "-o", "IdentityAgent=" + a.sock, "-o", "SetEnv=LANG=C FOO=bar"}, "list"); code != 0 || !strings.HasPrefix(out, "demo ") {
		t.Errorf("-A with SetEnv: %d %q %q", code, out, errOut)
	}
	d.waitStderr(`msg="ssh request refused" request=auth-agent-req@openssh.com`, 10*time.Second)
	d.waitStderr(`msg="ssh request refused" request=env`, 10*time.Second)

	// send with an unbalanced quote.
	if _, errOut, code := d.ssh(alice, "", "send", "demo", "'abc"); code != 2 || !strings.Contains(errOut, "no closing quotation") {
		t.Errorf("unbalanced quote: %d %q", code, errOut)
	}
	if log, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "demo.log")); strings.Contains(string(log), "abc") {
		t.Error("the text of a refused send reached the console")
	}
}
