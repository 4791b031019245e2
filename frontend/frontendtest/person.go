// Package frontendtest helps tests of the frontend and its transports:
// people with keys of their own, their config blocks and identities.
package frontendtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"consoled/frontend"
)

// Person is a user with an ed25519 key of their own, for tests of who may
// do what: their user block for a config and their Identity.
type Person struct {
	Name string
	Pub  gossh.PublicKey
}

// NewPerson makes a person called name with a new key.
func NewPerson(t testing.TB, name string) Person {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return Person{Name: name, Pub: k}
}

// Block is the person's user block, with their key and extra keys.
func (p Person) Block(extra ...gossh.PublicKey) string {
	var keys []string
	for _, k := range append([]gossh.PublicKey{p.Pub}, extra...) {
		keys = append(keys, fmt.Sprintf("%q", strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k)))))
	}
	return fmt.Sprintf("user %q {\n  keys = [%s]\n}\n", p.Name, strings.Join(keys, ", "))
}

// ID is the person acting with their key through transport via, from a
// documentation address (192.0.2.1).
func (p Person) ID(via string) frontend.Identity {
	return frontend.Identity{User: p.Name, Key: gossh.FingerprintSHA256(p.Pub), From: "192.0.2.1:1000", Via: via}
}
