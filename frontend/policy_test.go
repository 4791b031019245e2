package frontend

import (
	"errors"
	"testing"
)

// Who may do what, decided from the policy alone.
func TestPolicyAccess(t *testing.T) {
	lists := func(user, console string) Access {
		switch {
		case console == "open":
			return ReadWrite
		case console == "vm1" && user == "alice":
			return ReadWrite
		case console == "vm1" && user == "bob":
			return ReadOnly
		}
		return NoAccess
	}
	keys := map[string]map[string]bool{
		"alice": {"SHA256:a1": true, "SHA256:a2": true},
		"bob":   {"SHA256:b1": true},
		"carol": {},
	}
	for _, tc := range []struct {
		name    string
		p       Policy
		id      Identity
		console string
		want    Access
		stands  bool
	}{
		{"rw by list", Policy{Access: lists, Keys: keys}, Identity{User: "alice", Key: "SHA256:a2"}, "vm1", ReadWrite, true},
		{"ro by list", Policy{Access: lists, Keys: keys}, Identity{User: "bob", Key: "SHA256:b1"}, "vm1", ReadOnly, true},
		{"not listed", Policy{Access: lists, Keys: keys}, Identity{User: "carol"}, "vm1", NoAccess, true},
		{"open console", Policy{Access: lists, Keys: keys}, Identity{User: "carol"}, "open", ReadWrite, true},
		{"unknown console", Policy{Access: lists, Keys: keys}, Identity{User: "alice", Key: "SHA256:a1"}, "nope", NoAccess, true},
		{"user removed", Policy{Access: lists, Keys: keys}, Identity{User: "dave"}, "open", NoAccess, false},
		{"key removed", Policy{Access: lists, Keys: keys}, Identity{User: "alice", Key: "SHA256:old"}, "vm1", NoAccess, false},
		{"another user's key", Policy{Access: lists, Keys: keys}, Identity{User: "bob", Key: "SHA256:a1"}, "vm1", NoAccess, false},
		{"no key checks", Policy{Access: lists}, Identity{User: "dave", Key: "SHA256:x"}, "open", ReadWrite, true},
		{"no access lists", Policy{Keys: keys}, Identity{User: "bob", Key: "SHA256:b1"}, "anything", ReadWrite, true},
		{"no access lists, user removed", Policy{Keys: keys}, Identity{User: "dave"}, "anything", NoAccess, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.access(tc.id, tc.console); got != tc.want {
				t.Errorf("access = %v, want %v", got, tc.want)
			}
			err := tc.p.stands(tc.id)
			if (err == nil) != tc.stands {
				t.Errorf("stands = %v, want standing %v", err, tc.stands)
			}
			if err != nil && !errors.Is(err, ErrDenied) {
				t.Errorf("stands error %v does not match ErrDenied", err)
			}
		})
	}
}
