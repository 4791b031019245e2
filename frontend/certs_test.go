package frontend_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"consoled/frontend"
	"consoled/frontend/frontendtest"
)

// A certificate user's access: by name, by the groups their principals
// make them a member of, "*" and open consoles; they stand while their CA
// is trusted and their certificate has not ended.
func TestCertificateIdentity(t *testing.T) {
	admin, ca := frontendtest.NewPerson(t, "admin"), frontendtest.NewPerson(t, "ca")
	caLine := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(ca.Pub)))
	src := admin.Block() + fmt.Sprintf("trusted_user_ca_keys = [%q]\n", caLine) +
		"group \"ops\" {\n  principals = [\"sre\"]\n}\n" +
		console("lab", "  rw = [\"group:ops\"]\n  ro = [\"carol\"]\n") +
		console("all", "  ro = [\"*\"]\n") +
		console("open", "") +
		console("mine", "  rw = [\"admin\"]\n")
	g := start(t, src)
	id := func(user string, until time.Time, principals ...string) frontend.Identity {
		return frontend.Identity{User: user, Key: "SHA256:x", From: "192.0.2.1:1", Via: "test", CA: gossh.FingerprintSHA256(ca.Pub),
			Principals: principals, CertUntil: until, CertID: user + "@corp", CertSerial: 9}
	}
	soon := time.Now().Add(time.Hour)
	alice, carol := id("alice", soon, "alice", "sre"), id("carol", soon, "carol")
	for _, tc := range []struct {
		who     frontend.Identity
		console string
		want    frontend.Access
	}{
		{alice, "lab", frontend.ReadWrite}, {carol, "lab", frontend.ReadOnly},
		{alice, "all", frontend.ReadOnly}, {alice, "open", frontend.ReadWrite}, {alice, "mine", frontend.NoAccess},
	} {
		if got := g.core.Access(tc.who, tc.console); got != tc.want {
			t.Errorf("%s on %s: %v, want %v", tc.who.User, tc.console, got, tc.want)
		}
	}
	if err := g.core.Stands(alice); err != nil {
		t.Errorf("alice: %v", err)
	}
	if err := g.core.Stands(id("dave", time.Now().Add(-time.Second), "dave")); !errors.Is(err, frontend.ErrDenied) || !strings.Contains(err.Error(), `certificate "dave@corp" serial 9 expired at`) {
		t.Errorf("an ended certificate: %v", err)
	}
	g.core.Record(alice, "lab", "send", "", "ok")
	if a := g.audit.String(); !strings.Contains(a, `"cert_id":"alice@corp","cert_serial":9`) {
		t.Errorf("audit: %s", a)
	}
	// A reload that no longer trusts the CA: certificate users stand no more.
	g.reload(admin.Block() + console("lab", ""))
	if err := g.core.Stands(alice); !errors.Is(err, frontend.ErrDenied) || !strings.Contains(err.Error(), "no longer trusted") {
		t.Errorf("after the CA is removed: %v", err)
	}
}
