package e2e

import (
	"bytes"
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

// cert is a user key with a certificate ssh-keygen signed for it.
type cert struct {
	key  key
	file string // KEY-cert.pub
}

// signCert makes a key and has ca sign it with ssh-keygen -s (args: -I,
// -n, -V, -z, -O, -h ...).
func signCert(t *testing.T, ca, name string, args ...string) cert {
	t.Helper()
	k := newKey(t, name)
	out, err := exec.Command("ssh-keygen", append(append([]string{"-q", "-s", ca}, args...), k.Path+".pub")...).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -s %v: %v: %s", args, err, out)
	}
	return cert{key: k, file: k.Path + "-cert.pub"}
}

// sshCert runs ssh with a certificate and returns stdout, stderr, exit.
func (d *daemon) sshCert(c cert, remote ...string) (string, string, int) {
	d.t.Helper()
	args := append(d.sshArgs(c.key, "console", "-o", "CertificateFile="+c.file), remote...)
	cmd := exec.Command("ssh", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// OpenSSH user certificates from a trusted CA log in as their principal,
// with access by name and by group principal, and the audit records the
// key ID and serial; expired, not yet valid, other-CA, principal-less and
// force-command certificates are refused with the reason in consoled's log
// and the audit log (a host certificate too, but the ssh client offers
// none for user authentication: authkeys' TestCertificates covers it); a
// KRL made with ssh-keygen -k and read again on reload revokes a
// certificate, its open connection included.
func TestSSHCertificates(t *testing.T) {
	admin := newKey(t, "admin")
	ca, other := newKey(t, "ca"), newKey(t, "otherca")
	dir := t.TempDir()
	revoked := filepath.Join(dir, "revoked")
	os.WriteFile(revoked, []byte("# nothing revoked yet\n"), 0o600)
	cfg := userBlock("admin", admin) + fmt.Sprintf(`
admins = ["admin"]
trusted_user_ca_keys = [%q]
revoked_keys_file = %q
group "ops" {
  principals = ["ops", "sre"]
}
console "lab" {
  exec { command = ["/bin/sh", "-c", "PS1='lab$ ' exec /bin/sh -i"] }
  rw = ["group:ops", "admin"]
  ro = ["carol"]
}
console "secret" {
  exec { command = ["/bin/sh", "-c", "PS1='secret$ ' exec /bin/sh -i"] }
  rw = ["admin"]
}
`, ca.Pub, revoked)
	d := startConsoled(t, cfg)
	d.waitState(admin, "lab", "up")

	alice := signCert(t, ca.Path, "alice", "-I", "alice@corp", "-n", "alice,sre", "-z", "4242", "-V", "-1m:+10m")
	carol := signCert(t, ca.Path, "carol", "-I", "carol@corp", "-n", "carol", "-z", "7", "-V", "-1m:+10m")

	// alice is in ops by her principal sre: rw on lab; secret is not hers.
	if out, errOut, code := d.sshCert(alice, "list"); code != 0 || names(out) != "lab" {
		t.Fatalf("list as alice's certificate: %d %q %q", code, out, errOut)
	}
	if _, errOut, code := d.sshCert(alice, "send", "lab", "echo", "cert-ok", "|", "tr", "a-z", "A-Z"); code != 0 {
		t.Errorf("send as alice: %d %q", code, errOut)
	}
	testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "lab.log"), "CERT-OK", 10*time.Second)
	if _, errOut, code := d.sshCert(carol, "send", "lab", "echo", "x"); code != 2 || !strings.Contains(errOut, "read-only access") {
		t.Errorf("send as carol (ro): %d %q", code, errOut)
	}
	sends := auditLines(t, d, `"action":"send"`)
	if len(sends) != 2 || !strings.Contains(sends[0], `"user":"alice"`) || !strings.Contains(sends[0], `"cert_id":"alice@corp","cert_serial":4242`) ||
		!strings.Contains(sends[1], `"user":"carol"`) || !strings.Contains(sends[1], `"cert_id":"carol@corp","cert_serial":7`) {
		t.Errorf("audit of certificate users:\n%s", strings.Join(sends, "\n"))
	}

	// Refused certificates, each with its reason.
	for _, tc := range []struct {
		c    cert
		want string
	}{
		{signCert(t, ca.Path, "old", "-I", "old@corp", "-n", "alice", "-z", "1", "-V", "20200101:20200102"), `certificate \"old@corp\" serial 1 expired at 2020-01-02`},
		{signCert(t, ca.Path, "early", "-I", "early@corp", "-n", "alice", "-z", "2", "-V", "+1h:+2h"), `certificate \"early@corp\" serial 2 is not valid before`},
		{signCert(t, other.Path, "mallory", "-I", "mallory", "-n", "alice", "-z", "3"), `certificate \"mallory\" serial 3 is signed by SHA256:`},
		{signCert(t, ca.Path, "nobody", "-I", "nobody@corp", "-z", "4"), `certificate \"nobody@corp\" serial 4 names no principal`},
		{signCert(t, ca.Path, "forced", "-I", "forced", "-n", "alice", "-z", "6", "-O", "force-command=list"), `certificate \"forced\" serial 6 has force-command`},
	} {
		if out, errOut, code := d.sshCert(tc.c, "list"); code != 255 || out != "" {
			t.Errorf("%s logged in: %d %q %q", tc.c.key.Path, code, out, errOut)
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(auditLines(t, d, tc.want)) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no login refusal audited with %q:\n%s", tc.want, strings.Join(auditLines(t, d, `"action":"login"`), "\n"))
			}
			time.Sleep(50 * time.Millisecond)
		}
		d.waitStderr(tc.want, 5*time.Second)
	}

	// Revoked by a KRL (ssh-keygen -k, by serial), read on reload: alice's
	// open session is disconnected and she cannot log in again; carol can.
	tm := d.interactiveWith([]string{"-o", "CertificateFile=" + alice.file}, alice.key, "console", "lab")
	tm.Expect(`attached to lab read-write`, 10*time.Second)
	spec := filepath.Join(dir, "spec")
	os.WriteFile(spec, []byte("serial: 4242\n"), 0o600)
	if out, err := exec.Command("ssh-keygen", "-q", "-k", "-f", revoked, "-s", ca.Path+".pub", spec).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -k: %v: %s", err, out)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	tm.Expect(`disconnected: .*certificate \"alice@corp\" serial 4242 is revoked \(serial 4242\)`, 10*time.Second)
	if _, _, code := d.sshCert(alice, "list"); code != 255 {
		t.Errorf("revoked certificate logged in: %d", code)
	}
	if out, _, code := d.sshCert(carol, "list"); code != 0 || names(out) != "lab" {
		t.Errorf("carol after the reload: %d %q", code, out)
	}
}
