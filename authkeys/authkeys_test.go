package authkeys

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPpuJTRQ+PO6rDXoJ0ySzQ3NX5O4qBrmbF2jL1zrlqS5 bob@desk"

func TestOptionsHonoured(t *testing.T) {
	k, err := Parse(`from="10.1.0.0/16,!10.1.2.3,192.168.*.7",expiry-time="20300101Z",restrict ` + key)
	if err != nil {
		t.Fatal(err)
	}
	if !k.NoPTY || !k.Expires.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("options not applied: %+v", k)
	}
	before := time.Date(2029, 12, 31, 23, 59, 0, 0, time.UTC)
	for ip, ok := range map[string]bool{
		"10.1.200.9": true, "10.1.2.3": false, "10.2.0.1": false, "192.168.44.7": true, "192.168.44.8": false,
		"::ffff:10.1.0.1": true, "2001:db8::1": false,
	} {
		if err := k.Permit(ip, before); (err == nil) != ok {
			t.Errorf("Permit(%s) = %v, want allowed %v", ip, err, ok)
		}
	}
	err = k.Permit("10.1.200.9", before.Add(2*time.Minute))
	if !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("after expiry-time: %v", err)
	}
	if k, _ := Parse("restrict,pty " + key); k.NoPTY {
		t.Error("pty after restrict should allow a pty")
	}
	if k, _ := Parse("NO-PTY " + key); !k.NoPTY {
		t.Error("option names are case-insensitive, as in OpenSSH")
	}
	if k, err := Parse("no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc " + key); err != nil || k.From != nil || k.NoPTY {
		t.Errorf("restrictions consoled always applies: %+v %v", k, err)
	}
}

func TestOptionsRefused(t *testing.T) {
	for opt, want := range map[string]string{
		`command="ls"`:             "command= is not supported",
		`environment="A=B"`:        "environment",
		`permitopen="h:1"`:         "port forwarding",
		"agent-forwarding":         "never forwards the agent",
		"cert-authority":           "certificates",
		"verify-required":          "user verification",
		"frobnicate":               "unknown option",
		`from="*.example.com"`:     "does not resolve names",
		`from="gw.example.com"`:    "not an address",
		`from="10.0.0.1/8"`:        "host bits",
		`from=10.0.0.1`:            "double quotes",
		`expiry-time="2030-01-01"`: "want YYYYMMDD",
		"from":                     "needs a value",
		`no-pty="x"`:               "takes no value",
	} {
		_, err := Parse(opt + " " + key)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", opt, err, want)
		}
	}
}

func TestReadFileNamesLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(path, []byte("# comment\n\nfrom=\"127.0.0.1\" "+key+"\ncommand=\"x\" "+key+"\n"), 0o600)
	_, err := ReadFile(path)
	var le *LineError
	if !errors.As(err, &le) || le.Line != 4 || !strings.HasPrefix(err.Error(), path+":4: option command=") {
		t.Fatalf("got %v", err)
	}
}

func TestKeyringLookup(t *testing.T) {
	pk, _, _, _, err := gossh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	lan, _ := Parse(`from="10.0.0.0/8" ` + key)
	lan.Where = "keys:1"
	lo, _ := Parse(`from="127.0.0.1" ` + key)
	kr, err := NewKeyring(map[string][]Key{"bob": {lan, lo}, "alice": nil})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if u, k, err := kr.Lookup("console", pk, "127.0.0.1", now); err != nil || u != "bob" || k.From.String() != "127.0.0.1" {
		t.Errorf("second line should permit: %q %+v %v", u, k, err)
	}
	if u, _, err := kr.Lookup("bob", pk, "127.0.0.2", now); u != "bob" || !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "keys:1") {
		t.Errorf("from another address: %q %v", u, err)
	}
	if _, _, err := kr.Lookup("alice", pk, "127.0.0.1", now); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("bob's key as alice: %v", err)
	}
	if _, err := NewKeyring(map[string][]Key{"bob": {lan}, "carol": {lo}}); err == nil {
		t.Error("a key listed for two users was accepted")
	}
}

// FuzzParse: no line makes Parse panic, and a key it accepts can always be
// asked whether it admits an address.
func FuzzParse(f *testing.F) {
	for _, s := range []string{key, `from="10.0.0.0/8,!10.1.*" ` + key, `restrict,pty,expiry-time="20300101" ` + key,
		`command="x" ` + key, `from="::1,fe80::/10" ` + key} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		k, err := Parse(line)
		if err != nil {
			return
		}
		for _, ip := range []string{"127.0.0.1", "::1", "10.1.2.3", "not-an-ip"} {
			k.Permit(ip, time.Now())
		}
	})
}
