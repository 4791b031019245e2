package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// `consoled` with no config: the built-in demo console, reachable with the
// keys in the user's ~/.ssh, state under -data.
func TestEmbeddedDefault(t *testing.T) {
	home := t.TempDir()
	me := newKey(t, "me")
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519.pub"), []byte(me.Pub+"\n"), 0o600)
	data := filepath.Join(t.TempDir(), "state")
	cmd := exec.Command(binary, "-data", data, "-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "HOME="+home)
	d := runDaemon(t, data, cmd)

	tm := d.interactive(me, "console", "demo")
	tm.Expect(`attached to demo read-write`, 10*time.Second)
	tm.Expect(`demo:~# `, 10*time.Second)
	tm.Send("echo hello demo\r")
	tm.Expect(`\r\nhello demo\r\n`, 5*time.Second)
	tm.Send("\x05cl0h")
	tm.Expect(`sysrq: HELP`, 5*time.Second)
	tm.Send("\x05c.")
	if code := tm.Wait(10 * time.Second); code != 0 {
		t.Errorf("ssh exit %d", code)
	}
	st, err := os.Stat(filepath.Join(data, "ssh_host_ed25519_key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("host key: %v %v", st, err)
	}
	testharness.ReadFileUntil(t, filepath.Join(data, "logs", "demo.log"), "hello demo", 5*time.Second)
}

// On a fresh machine with no ~/.ssh keys, the default makes a client key
// in its data directory and says how to use it; nothing unauthenticated.
func TestEmbeddedDefaultWithoutKeys(t *testing.T) {
	data := t.TempDir()
	cmd := exec.Command(binary, "-data", data, "-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	d := runDaemon(t, data, cmd)
	keyPath := filepath.Join(data, "client_ed25519")
	d.waitStderr("ssh -i "+keyPath+" -p "+strconv.Itoa(d.Port)+" -t console@127.0.0.1 demo", 5*time.Second)
	tm := d.interactive(key{Path: keyPath}, "console", "demo")
	tm.Expect(`demo:~# `, 10*time.Second)
	tm.Send("\x05c.")
	tm.Wait(10 * time.Second)
	other := newKey(t, "other")
	if _, errOut, code := d.ssh(other, "", "list"); code != 255 {
		t.Errorf("another key got in: %d %s", code, errOut)
	}
}

// An exec console: a shell in a pty, BREAK as a configured byte string, and
// a restart (with a log mark) when the command exits. Without a break
// string BREAK is refused, and a viewer (rw access, someone else writes)
// is told who writes and how to take write access.
func TestExecConsole(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	d := startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+`
console "sh1" {
  exec {
    command = ["/bin/sh", "-c", "PS1='sh1$ ' exec /bin/sh -i"]
    break   = "~BRK~"
  }
}
console "nobreak" {
  exec { command = ["/bin/cat"] }
}
`)
	d.waitState(alice, "sh1", "up")
	tm := d.interactive(alice, "console", "sh1")
	tm.Expect(`read-write`, 10*time.Second)
	tm.Send("\r")
	tm.Expect(`sh1\$ `, 10*time.Second)
	tm.Send("echo exec-$((6*7))\r")
	tm.Expect(`exec-42`, 5*time.Second)
	tm.Send("\x05cl0")
	// the shell echoes the break string; that may come before or after the notice
	tm.Expect(`(?s)sent BREAK.*~BRK~|~BRK~.*sent BREAK`, 5*time.Second)
	tm.Send("\x15exit\r") // ^U clears the line first
	tm.Expect(`console down: command /bin/sh exited`, 10*time.Second)
	tm.Expect(`console up`, 10*time.Second)
	tm.Send("\r")
	tm.Expect(`sh1\$ `, 10*time.Second)
	tm.Send("\x05c.")
	tm.Wait(10 * time.Second)

	nb := d.interactive(alice, "console", "nobreak")
	nb.Expect(`read-write`, 10*time.Second)
	nb.Send("\x05cl0")
	nb.Expect(`BREAK refused: this console has no way to send BREAK`, 5*time.Second)
	viewer := d.interactive(bob, "console", "nobreak")
	viewer.Expect(`read-only: alice has write access`, 10*time.Second)
	viewer.Send("\x05cl0")
	viewer.Expect(`BREAK not sent: read-only: another user has write access \(alice\); \^Eca takes write access when free, \^Ecf forces it`, 5*time.Second)
	viewer.Send("\x05c.")
	viewer.Wait(10 * time.Second)
	nb.Send("\x05c.")
	nb.Wait(10 * time.Second)

	log := testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "sh1.log"), "console down: command /bin/sh exited", 5*time.Second)
	if strings.Count(log, "console up") < 2 {
		t.Errorf("restart not marked:\n%s", log)
	}
}

// The first client writes, the next one watches and is told so; a watcher's
// keystrokes do not reach the machine; ^Ecf takes write access.
func TestWriterAndViewer(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	d := startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+`
console "sh1" {
  exec { command = ["/bin/sh", "-c", "PS1='sh1$ ' exec /bin/sh -i"] }
}
`)
	d.waitState(alice, "sh1", "up")
	a := d.interactive(alice, "console", "sh1")
	a.Expect(`attached to sh1 read-write`, 10*time.Second)
	b := d.interactive(bob, "bob", "sh1")
	b.Expect(`attached to sh1 read-only: alice has write access`, 10*time.Second)
	if line := d.waitState(alice, "sh1", "up"); !strings.Contains(line, "alice") || !strings.HasSuffix(strings.TrimSpace(line), " 1") {
		t.Errorf("list: %q", line)
	}
	b.Send("echo from-bob-$((1+1))\r")
	b.Expect(`read-only: keystrokes not sent`, 5*time.Second)
	a.Send("echo from-alice-$((2+2))\r")
	a.Expect(`from-alice-4`, 5*time.Second)
	b.Expect(`from-alice-4`, 5*time.Second) // the viewer sees the writer's session
	b.Send("\x05cf")
	b.Expect(`attached read-write; alice is now read-only`, 5*time.Second)
	a.Expect(`write access taken over by bob`, 5*time.Second)
	b.Send("echo bob-now-$((3+3))\r")
	b.Expect(`bob-now-6`, 5*time.Second)
	b.Send("\x05cw")
	b.Expect(`bob +rw`, 5*time.Second)
	log := testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "sh1.log"), "bob-now-6", 5*time.Second)
	if strings.Contains(log, "from-bob-2") {
		t.Errorf("a read-only client's keystrokes reached the machine")
	}
	if !strings.Contains(log, "bob took write access") {
		t.Errorf("takeover not in the log")
	}
}

// Only configured keys get in, and a login name that is a configured user
// must match the key's owner.
func TestAuthentication(t *testing.T) {
	alice, bob, stranger := newKey(t, "alice"), newKey(t, "bob"), newKey(t, "stranger")
	d := startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+demoConsole)
	if _, errOut, code := d.ssh(stranger, "", "list"); code != 255 || !strings.Contains(errOut, "Permission denied") {
		t.Errorf("unknown key: exit %d, %q", code, errOut)
	}
	cmd := exec.Command("ssh", append(d.sshArgs(alice, "bob"), "list")...)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Errorf("alice's key logged in as bob: %v %s", err, out)
	}
	cmd = exec.Command("ssh", append(d.sshArgs(alice, "alice"), "list")...)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "demo ") {
		t.Errorf("alice as alice: %v %q", err, out)
	}
	// No password or keyboard-interactive fallback is offered.
	cmd = exec.Command("ssh", "-F", "/dev/null", "-p", strconv.Itoa(d.Port),
		"-o", "PubkeyAuthentication=no", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "console@127.0.0.1", "list")
	if out, _ := cmd.CombinedOutput(); !strings.Contains(string(out), "Permission denied (publickey)") {
		t.Errorf("without a key: %s", out)
	}
	out, errOut, code := d.ssh(alice, "", "nosuch")
	if code != 2 || !strings.Contains(errOut, `no console or command "nosuch"`) {
		t.Errorf("unknown console: %d %q %q", code, out, errOut)
	}
}

// A bad config names file:line and consoled does not start; -check accepts a
// good one without starting anything.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hcl")
	os.WriteFile(bad, []byte("console \"vm1\" {\n  telnet { address = \"127.0.0.1:1\" }\n  colour = \"blue\"\n}\n"), 0o600)
	out, err := exec.Command(binary, "-config", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), bad+":3,3-9: Unsupported argument") {
		t.Errorf("bad config: %v\n%s", err, out)
	}
	vm1 := "console \"vm1\" {\n  telnet { address = \"127.0.0.1:1\" }\n}\n"
	alice := "user \"alice\" {\n  keys = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEgCPFGVvlyvFJbiHL8NaMdGfOJ1RsAMZHfz7wg7RrOo alice@laptop\"]\n}\n"
	good := filepath.Join(dir, "good.hcl")
	os.WriteFile(good, []byte(alice+vm1), 0o600)
	out, err = exec.Command(binary, "-check", "-config", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok: 1 consoles") {
		t.Errorf("-check: %v\n%s", err, out)
	}
	// A file that cannot be read: its name and the OS error.
	missing := filepath.Join(dir, "missing.hcl")
	out, err = exec.Command(binary, "-check", "-config", missing).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Cannot read config: open "+missing+": no such file or directory") || strings.Contains(string(out), "<nil>") {
		t.Errorf("-check of a missing file: %v\n%s", err, out)
	}
	// What cannot work is refused by -check too, with file:line.
	for name, c := range map[string]struct{ src, want string }{
		"nousers.hcl": {vm1, ":1,1-1: Nobody can log in"},
		"audit.hcl":   {alice + "console \"audit\" {\n  demo {}\n}\n", ":4,9-16: Reserved console name"},
		"port.hcl":    {alice + "listen = \"127.0.0.1:65536\"\n" + vm1, ":4,10-27: Invalid port"},
		"exec.hcl":    {alice + "console \"x\" {\n  exec { command = [\"no-such-command-here\"] }\n}\n", ":5,20-44: Command cannot be run"},
		// One key for two users cannot say who logs in (consoled refused to start, -check said ok).
		"twokeys.hcl": {alice + strings.Replace(alice, `"alice"`, `"bob"`, 1) + vm1, `:5,10-107: Key of two users; user "bob" lists key SHA256:`},
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(c.src), 0o600)
		out, err = exec.Command(binary, "-check", "-config", path).CombinedOutput()
		if err == nil || !strings.Contains(string(out), path+c.want) {
			t.Errorf("-check %s: %v\n%s", name, err, out)
		}
	}
	// The example, with the password files it names.
	src, _ := os.ReadFile("../conserver.hcl.example")
	example := filepath.Join(dir, "conserver.hcl")
	os.WriteFile(example, src, 0o600)
	os.WriteFile(filepath.Join(dir, "db01.pw"), []byte("pw\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "web08.pw"), []byte("pw\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "bob.keys"), []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPpuJTRQ+PO6rDXoJ0ySzQ3NX5O4qBrmbF2jL1zrlqS5 bob@desk\n"), 0o600)
	out, err = exec.Command(binary, "-check", "-config", example).CombinedOutput()
	if err != nil {
		t.Errorf("conserver.hcl.example does not validate: %v\n%s", err, out)
	}
}

// SIGTERM: attached clients are told, logs record the shutdown, exit 0.
func TestShutdown(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+demoConsole)
	tm := d.interactive(alice, "console", "demo")
	tm.Expect(`demo:~# `, 10*time.Second)
	d.cmd.Process.Signal(syscall.SIGTERM)
	tm.Expect(`disconnected: consoled is shutting down`, 10*time.Second)
	tm.Wait(10 * time.Second)
	select {
	case <-d.exited:
		if d.err != nil {
			t.Errorf("exit: %v", d.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("consoled did not exit")
	}
	b, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "demo.log"))
	if !strings.Contains(string(b), "console down: consoled is shutting down") {
		t.Errorf("demo.log:\n%s", b)
	}
}

// A console that cannot be reached is listed with the reason.
func TestListShowsProblem(t *testing.T) {
	alice := newKey(t, "alice")
	port := freePort(t) // nothing listens there
	d := startConsoled(t, userBlock("alice", alice)+`console "gone" {
  telnet { address = "127.0.0.1:`+strconv.Itoa(port)+`" }
}`)
	line := d.waitState(alice, "gone", "down")
	if !strings.Contains(line, "connection refused") {
		t.Errorf("list: %q", line)
	}
}

const demoConsole = `
console "demo" {
  demo {}
}
`
