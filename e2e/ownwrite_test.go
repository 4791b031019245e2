package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// A person's own scripts need no --force against their own interactive
// session; the session is told when it loses write access and gets it back
// when the script ends, whoever took it.
func TestOwnScriptsNeedNoForce(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	d := startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+`
console "sh1" {
  exec {
    command = ["/bin/sh", "-c", "PS1='sh1$ ' exec /bin/sh -i"]
    break   = "echo broke-$((4+4))\r"
  }
}
`)
	d.waitState(alice, "sh1", "up")
	logPath := filepath.Join(d.Dir, "logs", "sh1.log")
	tm := d.interactive(alice, "console", "sh1")
	tm.Expect(`attached to sh1 read-write`, 10*time.Second)

	if _, errOut, code := d.ssh(alice, "", "send", "sh1", "echo", "own-$((1+1))"); code != 0 {
		t.Fatalf("alice's send while alice writes elsewhere: %d %q", code, errOut)
	}
	tm.Expect(`write access taken over by alice from 127\.0\.0\.1:\d+; you are now read-only until that session ends`, 5*time.Second)
	testharness.ReadFileUntil(t, logPath, "own-2", 5*time.Second)
	tm.Expect(`write access is yours again \(alice's session from 127\.0\.0\.1:\d+ ended\)`, 5*time.Second)
	if out, errOut, code := d.ssh(alice, "", "break", "sh1", "--wait", "1s"); code != 0 || !strings.Contains(out, "broke-8") {
		t.Errorf("alice's break while alice writes elsewhere: %d %q %q", code, out, errOut)
	}
	tm.Expect(`write access is yours again`, 5*time.Second)
	tm.Send("echo typed-$((2+3))\r")
	tm.Expect(`typed-5`, 5*time.Second)

	// Another person still needs --force, and the session is told of it
	// both ways.
	if _, errOut, code := d.ssh(bob, "", "send", "sh1", "echo", "bob"); code != 2 || !strings.Contains(errOut, "alice has write access (--force takes it)") {
		t.Errorf("bob's send without --force: %d %q", code, errOut)
	}
	if _, errOut, code := d.ssh(bob, "", "send", "--force", "sh1", "echo", "bob-$((3*3))"); code != 0 {
		t.Fatalf("bob's send --force: %d %q", code, errOut)
	}
	tm.Expect(`write access taken over by bob from 127\.0\.0\.1:\d+; you are now read-only until that session ends`, 5*time.Second)
	testharness.ReadFileUntil(t, logPath, "bob-9", 5*time.Second)
	tm.Expect(`write access is yours again \(bob's session from 127\.0\.0\.1:\d+ ended\)`, 5*time.Second)
	tm.Send("echo after-$((4+4))x\r")
	tm.Expect(`after-8x`, 5*time.Second)
}
