package authkeys

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// keygen runs ssh-keygen in dir.
func keygen(t *testing.T, dir string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		if os.Getenv("CONSOLED_E2E") != "" {
			t.Fatal("ssh-keygen (openssh-client) is missing")
		}
		t.Skip("ssh-keygen (openssh-client) is missing")
	}
	cmd := exec.Command("ssh-keygen", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %v: %v: %s", args, err, out)
	}
}

func readPub(t *testing.T, path string) gossh.PublicKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, _, _, _, err := gossh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sign makes a certificate for the user key u with ssh-keygen and returns it.
func sign(t *testing.T, dir, ca, name string, args ...string) *gossh.Certificate {
	t.Helper()
	keygen(t, dir, "-q", "-t", "ed25519", "-N", "", "-f", name)
	keygen(t, dir, append(append([]string{"-q", "-s", ca}, args...), name+".pub")...)
	return readPub(t, filepath.Join(dir, name+"-cert.pub")).(*gossh.Certificate)
}

// Certificates made by ssh-keygen: accepted when signed by a trusted CA,
// valid now and naming a principal; refused, each with its reason, when
// expired, not yet valid, signed by another CA, a host certificate, with
// force-command, without principals, from an address source-address does
// not allow, or revoked.
func TestCertificates(t *testing.T) {
	dir := t.TempDir()
	keygen(t, dir, "-q", "-t", "ed25519", "-N", "", "-f", "ca")
	keygen(t, dir, "-q", "-t", "ed25519", "-N", "", "-f", "other")
	good := sign(t, dir, "ca", "alice", "-I", "alice@corp", "-n", "alice,ops", "-z", "42", "-V", "-5m:+5m")
	ring, err := NewKeyring(map[string][]Key{"bob": nil})
	if err != nil {
		t.Fatal(err)
	}
	ring.WithCertificates([]gossh.PublicKey{readPub(t, filepath.Join(dir, "ca.pub"))}, nil)
	now := time.Now()

	user, key, err := ring.Lookup("console", good, "192.0.2.1", now)
	if err != nil || user != "alice" || key.Cert == nil || key.Cert.KeyID != "alice@corp" || key.Cert.Serial != 42 ||
		strings.Join(key.Cert.Principals, ",") != "alice,ops" || key.NoPTY {
		t.Fatalf("good certificate: %q %+v %v", user, key.Cert, err)
	}
	if user, _, err := ring.Lookup("ops", good, "192.0.2.1", now); err != nil || user != "ops" {
		t.Errorf("login as a principal: %q %v", user, err)
	}
	if _, _, err := ring.Lookup("bob", good, "192.0.2.1", now); !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "not valid for bob") {
		t.Errorf("login as a configured user it does not name: %v", err)
	}
	if _, _, err := ring.Lookup("console", good, "192.0.2.1", now.Add(10*time.Minute)); err == nil || !strings.Contains(err.Error(), `certificate "alice@corp" serial 42 expired at`) {
		t.Errorf("after its end: %v", err)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"expired", []string{"-I", "old", "-n", "alice", "-V", "20200101:20200102"}, "expired at 2020-01-02"},
		{"future", []string{"-I", "future", "-n", "alice", "-V", "+1h:+2h"}, "is not valid before"},
		{"principal-less", []string{"-I", "nobody", "-V", "+0s:+5m"}, "names no principal"},
		{"host", []string{"-I", "host", "-h", "-n", "alice"}, "is a host certificate"},
		{"forced", []string{"-I", "forced", "-n", "alice", "-O", "force-command=/bin/true"}, "has force-command"},
		{"source", []string{"-I", "src", "-n", "alice", "-O", "source-address=10.0.0.0/8"}, `not valid from 192.0.2.1 (source-address "10.0.0.0/8")`},
		{"nopty", []string{"-I", "nopty", "-n", "alice", "-O", "no-pty"}, ""},
	} {
		cert := sign(t, dir, "ca", tc.name, tc.args...)
		_, key, err := ring.Lookup("console", cert, "192.0.2.1", now)
		switch {
		case tc.want == "" && (err != nil || !key.NoPTY):
			t.Errorf("%s: %v, NoPTY %v", tc.name, err, key.NoPTY)
		case tc.want != "" && (!errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	other := sign(t, dir, "other", "mallory", "-I", "mallory", "-n", "alice")
	if _, _, err := ring.Lookup("console", other, "192.0.2.1", now); err == nil || !strings.Contains(err.Error(), "which is not a trusted CA") {
		t.Errorf("another CA: %v", err)
	}
	// Without WithCertificates, a certificate is an unknown key.
	plain, _ := NewKeyring(map[string][]Key{"bob": nil})
	if _, _, err := plain.Lookup("console", good, "192.0.2.1", now); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("no CAs configured: %v", err)
	}
}

// Revocation lists made by ssh-keygen -k (by serial, by key ID, by the
// certificate's key) and a plain list of keys.
func TestRevocations(t *testing.T) {
	dir := t.TempDir()
	keygen(t, dir, "-q", "-t", "ed25519", "-N", "", "-f", "ca")
	alice := sign(t, dir, "ca", "alice", "-I", "alice@corp", "-n", "alice", "-z", "42")
	bob := sign(t, dir, "ca", "bob", "-I", "bob@corp", "-n", "bob", "-z", "7")
	carol := sign(t, dir, "ca", "carol", "-I", "carol@corp", "-n", "carol", "-z", "1000")
	os.WriteFile(filepath.Join(dir, "serials"), []byte("serial: 42\nserial: 990-1010\n"), 0o600)
	keygen(t, dir, "-q", "-k", "-f", "by-serial.krl", "-s", "ca.pub", "serials")
	os.WriteFile(filepath.Join(dir, "ids"), []byte("id: bob@corp\n"), 0o600)
	keygen(t, dir, "-q", "-k", "-f", "by-id.krl", "-s", "ca.pub", "ids")
	keygen(t, dir, "-q", "-k", "-f", "by-key.krl", "alice.pub")
	keygen(t, dir, "-q", "-t", "ed25519", "-N", "", "-f", "dave")
	pubs, _ := os.ReadFile(filepath.Join(dir, "dave.pub"))
	os.WriteFile(filepath.Join(dir, "plain"), append([]byte("# revoked\n"), pubs...), 0o600)

	for _, tc := range []struct {
		file          string
		revoked, kept []*gossh.Certificate
		want          string
	}{
		{"by-serial.krl", []*gossh.Certificate{alice, carol}, []*gossh.Certificate{bob}, "serial"},
		{"by-id.krl", []*gossh.Certificate{bob}, []*gossh.Certificate{alice, carol}, `key ID "bob@corp"`},
		{"by-key.krl", []*gossh.Certificate{alice}, []*gossh.Certificate{bob, carol}, "its key SHA256:"},
	} {
		rev, err := ReadRevocations(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		for _, c := range tc.revoked {
			if why := rev.Check(c); !strings.Contains(why, tc.want) {
				t.Errorf("%s: %s not revoked as %q: %q", tc.file, c.KeyId, tc.want, why)
			}
		}
		for _, c := range tc.kept {
			if why := rev.Check(c); why != "" {
				t.Errorf("%s: %s revoked: %s", tc.file, c.KeyId, why)
			}
		}
	}
	rev, err := ReadRevocations(filepath.Join(dir, "plain"))
	if err != nil {
		t.Fatal(err)
	}
	dave := readPub(t, filepath.Join(dir, "dave.pub"))
	ring, _ := NewKeyring(map[string][]Key{"dave": {{PublicKey: dave}}})
	ring.WithCertificates(nil, rev)
	if _, _, err := ring.Lookup("console", dave, "192.0.2.1", time.Now()); !errors.Is(err, ErrNotPermitted) || !errors.Is(err, ErrRevoked) {
		t.Errorf("a plain key in the list: %v", err)
	}
	// Through a keyring: a revoked certificate's error says so, and is ErrRevoked.
	bySerial, _ := ReadRevocations(filepath.Join(dir, "by-serial.krl"))
	certRing, _ := NewKeyring(nil)
	certRing.WithCertificates([]gossh.PublicKey{readPub(t, filepath.Join(dir, "ca.pub"))}, bySerial)
	_, _, err = certRing.Lookup("console", alice, "192.0.2.1", time.Now())
	if !errors.Is(err, ErrRevoked) || !errors.Is(err, ErrNotPermitted) || !strings.HasSuffix(err.Error(), `certificate "alice@corp" serial 42 is revoked (serial 42)`) {
		t.Errorf("a revoked certificate: %v", err)
	}
	if _, _, err := certRing.Lookup("console", bob, "192.0.2.1", time.Now()); err != nil {
		t.Errorf("bob's certificate, not revoked: %v", err)
	}
	if _, err := ReadRevocations(filepath.Join(dir, "ca")); err == nil {
		t.Errorf("a private key read as a revocation list")
	}
	var nilRev *Revocations
	if nilRev.Check(alice) != "" {
		t.Errorf("nil revokes")
	}
}

func FuzzKRL(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x01" + strings.Repeat("\x00", 24) + "\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x20\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x2a"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &Revocations{blobs: map[string]bool{}, sha1s: map[string]bool{}, sha256s: map[string]bool{}}
		r.parseKRL(data) // must not panic or hang
	})
}
