package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// Rights follow the configuration in force at the moment of each action,
// with the real ssh client. bob's key gets an expiry-time 10 s ahead from a
// reload: his session and his OpenSSH ControlMaster connection stay until
// then (the reload leaves them), and end at the expiry with the reason, as
// does the connection. carol's key's from= is changed by the same reload
// to exclude the address she is attached from: she is cut off at once,
// with the reason. Both are in the audit log, and -check warns about bob's
// now expired key.
func TestAccessEndsWithKey(t *testing.T) {
	alice, bob, carol := newKey(t, "alice"), newKey(t, "bob"), newKey(t, "carol")
	users := func(bobOpts, carolOpts string) string {
		return userBlock("alice", alice) + fmt.Sprintf("user \"bob\" {\n  keys = [%q]\n}\nuser \"carol\" {\n  keys = [%q]\n}\n",
			strings.TrimSpace(bobOpts+" "+bob.Pub), carolOpts+" "+carol.Pub)
	}
	d := startConsoled(t, users("", `from="127.0.0.1"`)+demoConsole)
	d.waitState(alice, "demo", "up")

	b := d.interactive(bob, "bob", "demo")
	b.Expect(`attached to demo`, 10*time.Second)
	c := d.interactive(carol, "carol", "demo")
	c.Expect(`attached to demo`, 10*time.Second)
	sock := filepath.Join(t.TempDir(), "cm")
	master := func(op string) *exec.Cmd { // -O op, or through the master with op as the command
		if op == "check" || op == "exit" {
			return exec.Command("ssh", d.sshArgs(bob, "bob", "-o", "ControlPath="+sock, "-O", op)...)
		}
		return exec.Command("ssh", append(d.sshArgs(bob, "bob", "-o", "ControlPath="+sock, "-o", "ControlMaster=no"), op)...)
	}
	if out, err := exec.Command("ssh", append(d.sshArgs(bob, "bob", "-o", "ControlPath="+sock, "-o", "ControlMaster=yes",
		"-o", "ControlPersist=120"), "list")...).Output(); err != nil || !strings.Contains(string(out), "demo") {
		t.Fatalf("bob's first command through a ControlMaster: %v %q", err, out)
	}
	t.Cleanup(func() { master("exit").Run() })

	expiry := time.Now().Add(10 * time.Second).Truncate(time.Second)
	cfgPath := filepath.Join(d.Dir, "consoled.hcl")
	cfg := users(`expiry-time="`+expiry.UTC().Format("20060102150405")+`Z"`, `from="127.0.0.2"`) + demoConsole
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitStderr("msg=reloaded", 10*time.Second)

	c.Expect(`disconnected: access removed by a configuration reload: the key this connection logged in with no longer admits it: key not permitted: not from 127\.0\.0\.1`, 10*time.Second)
	c.Wait(10 * time.Second)

	// Before the expiry bob is still there, and the ControlMaster still
	// opens sessions.
	if out, _, _ := d.ssh(alice, "", "who", "demo"); !strings.Contains(out, "bob") {
		if time.Now().Before(expiry) {
			t.Fatalf("bob is no longer on demo before his key's expiry (%s):\n%s", expiry, out)
		}
	}
	if out, err := master("list").Output(); err != nil || !strings.Contains(string(out), "demo") {
		if time.Now().Before(expiry) {
			t.Fatalf("bob's ControlMaster before his key's expiry: %v %q", err, out)
		}
	}

	b.Expect(`disconnected: the key this connection logged in with no longer admits it: key not permitted: expired at `+
		expiry.UTC().Format(time.RFC3339)+` \(expiry-time\)`, time.Until(expiry)+20*time.Second)
	if time.Now().Before(expiry) {
		t.Errorf("bob was disconnected before his key's expiry (%s)", expiry)
	}
	b.Wait(10 * time.Second)
	deadline := time.Now().Add(15 * time.Second)
	for master("check").Run() == nil {
		if time.Now().After(deadline) {
			t.Fatal("bob's ControlMaster connection is still open after his key expired")
		}
		time.Sleep(100 * time.Millisecond)
	}

	audit := testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "audit.log"), `expired at `+expiry.UTC().Format(time.RFC3339), 10*time.Second)
	var bobOut, carolOut bool
	for _, line := range strings.Split(audit, "\n") {
		if !strings.Contains(line, `"action":"disconnect"`) {
			continue
		}
		bobOut = bobOut || strings.Contains(line, `"user":"bob"`) && strings.Contains(line, "expired at")
		carolOut = carolOut || strings.Contains(line, `"user":"carol"`) && strings.Contains(line, "not from 127.0.0.1")
	}
	if !bobOut || !carolOut {
		t.Errorf("audit log lacks the disconnects of bob (%v, expired) or carol (%v, from=):\n%s", bobOut, carolOut, audit)
	}

	out, err := exec.Command(binary, "-check", "-config", cfgPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `Expired key; user \"bob\": key SHA256:`) {
		t.Errorf("-check with bob's expired key: %v %s", err, out)
	}
}

// A certificate's session ends when the certificate does (its
// valid-before), with the reason, in the session and the audit log.
func TestCertificateSessionEndsAtValidBefore(t *testing.T) {
	admin, ca := newKey(t, "admin"), newKey(t, "ca")
	d := startConsoled(t, userBlock("admin", admin)+fmt.Sprintf("trusted_user_ca_keys = [%q]\n", ca.Pub)+demoConsole)
	d.waitState(admin, "demo", "up")

	until := time.Now().Add(15 * time.Second).Truncate(time.Second)
	alice := signCert(t, ca.Path, "alice", "-I", "alice@corp", "-n", "alice", "-z", "99", "-V", "-1m:"+until.Format("20060102150405"))
	a := d.interactiveWith([]string{"-o", "CertificateFile=" + alice.file}, alice.key, "console", "demo")
	a.Expect(`attached to demo`, 10*time.Second)
	a.Expect(`disconnected: certificate "alice@corp" serial 99 expired at `+until.UTC().Format(time.RFC3339), time.Until(until)+20*time.Second)
	if time.Now().Before(until) {
		t.Errorf("the certificate's session ended before its valid-before (%s)", until)
	}
	a.Wait(10 * time.Second)
	testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "audit.log"), `"action":"disconnect"`, 10*time.Second)
	for _, line := range auditLines(t, d, `"action":"disconnect"`) {
		if strings.Contains(line, `"user":"alice"`) && strings.Contains(line, `"cert_id":"alice@corp","cert_serial":99`) &&
			strings.Contains(line, "expired at") {
			return
		}
	}
	t.Errorf("no disconnect of alice's certificate in the audit log:\n%s", strings.Join(auditLines(t, d, `"user":"alice"`), "\n"))
}
