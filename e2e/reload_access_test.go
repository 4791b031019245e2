package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// Access follows the running configuration, with the real ssh client. A
// reload demotes bob from rw to ro while he types: he is told at once and
// his keystrokes, BREAK and takeover are refused from then on. dave, taken
// off the console's ro list, is cut off with the reason. carol, deleted
// from the configuration, is cut off too, and the OpenSSH ControlMaster
// connection she opened earlier is closed, so it cannot open new sessions.
// erin's key is removed (her other key stays): the session she opened with
// it is cut off. Each is in the audit log.
func TestReloadAccessFollowsConfig(t *testing.T) {
	alice, bob, carol, dave := newKey(t, "alice"), newKey(t, "bob"), newKey(t, "carol"), newKey(t, "dave")
	erin, erinOld := newKey(t, "erin"), newKey(t, "erin-old")
	sh1 := func(lists string) string {
		return "console \"sh1\" {\n  exec { command = [\"/bin/sh\", \"-c\", \"PS1='sh1$ ' exec /bin/sh -i\"] }\n" + lists + "}\n"
	}
	erinBoth := fmt.Sprintf("user \"erin\" {\n  keys = [%q, %q]\n}\n", erin.Pub, erinOld.Pub)
	before := userBlock("alice", alice) + userBlock("bob", bob) + userBlock("carol", carol) + userBlock("dave", dave) + erinBoth +
		"admins = [\"alice\"]\n" + sh1("  rw = [\"alice\", \"bob\", \"erin\"]\n  ro = [\"carol\", \"dave\"]\n")
	after := userBlock("alice", alice) + userBlock("bob", bob) + userBlock("dave", dave) + userBlock("erin", erin) +
		"admins = [\"alice\"]\n" + sh1("  rw = [\"alice\", \"erin\"]\n  ro = [\"bob\"]\n")
	d := startConsoled(t, before)
	d.waitState(alice, "sh1", "up")

	b := d.interactive(bob, "bob", "sh1")
	b.Expect(`attached to sh1 read-write`, 10*time.Second)
	b.Send("echo bob-before-$((1+1))\r")
	b.Expect(`bob-before-2`, 5*time.Second)
	dv := d.interactive(dave, "dave", "sh1")
	dv.Expect(`attached to sh1 read-only`, 10*time.Second)
	c := d.interactive(carol, "carol", "sh1")
	c.Expect(`attached to sh1 read-only`, 10*time.Second)
	e := d.interactive(erinOld, "erin", "sh1", "--spy")
	e.Expect(`attached to sh1`, 10*time.Second)

	// carol's multiplexed connection, kept open after its first command.
	sock := filepath.Join(t.TempDir(), "cm")
	master := func(extra ...string) *exec.Cmd {
		args := d.sshArgs(carol, "carol", append([]string{"-o", "ControlPath=" + sock}, extra...)...)
		return exec.Command("ssh", args...)
	}
	out, err := exec.Command("ssh", append(d.sshArgs(carol, "carol", "-o", "ControlMaster=yes", "-o", "ControlPath="+sock,
		"-o", "ControlPersist=120"), "list")...).Output()
	if err != nil || !strings.Contains(string(out), "sh1") {
		t.Fatalf("carol's first command through a ControlMaster: %v %q", err, out)
	}
	t.Cleanup(func() { master("-O", "exit").Run() })
	if out, err := master("-O", "check").CombinedOutput(); err != nil {
		t.Fatalf("no ControlMaster running: %v %s", err, out)
	}
	if out, err := exec.Command("ssh", append(d.sshArgs(carol, "carol", "-o", "ControlMaster=no", "-o", "ControlPath="+sock), "list")...).Output(); err != nil || !strings.Contains(string(out), "sh1") {
		t.Fatalf("carol's second command through the ControlMaster: %v %q", err, out)
	}

	os.WriteFile(filepath.Join(d.Dir, "consoled.hcl"), []byte(after), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitStderr("msg=reloaded", 10*time.Second)

	b.Expect(`your access to sh1 is now read-only \(configuration reloaded\)`, 10*time.Second)
	b.Send("echo bob-after-$((2+2))\r")
	b.Expect(`read-only: you may watch sh1, not type on it; keystrokes are not sent`, 5*time.Second)
	b.Send("\x05cl0")
	b.Expect(`break BREAK refused: you have read-only access to sh1`, 5*time.Second)
	b.Send("\x05ca")
	b.Expect(`attach rw refused: you have read-only access to sh1`, 5*time.Second)
	b.Send("\x05cf")
	b.Expect(`takeover force refused: you have read-only access to sh1`, 5*time.Second)

	dv.Expect(`disconnected: access removed by a configuration reload: dave may no longer use sh1`, 10*time.Second)
	dv.Wait(10 * time.Second)
	c.Expect(`disconnected: access removed by a configuration reload: user carol is no longer in the configuration`, 10*time.Second)
	c.Wait(10 * time.Second)
	e.Expect(`disconnected: access removed by a configuration reload: key SHA256:\S+ is no longer configured for erin`, 10*time.Second)
	e.Wait(10 * time.Second)

	// The ControlMaster connection is closed: its master exits, and a new
	// session cannot be opened through it (nor, with the key gone, anew).
	deadline := time.Now().Add(15 * time.Second)
	for master("-O", "check").Run() == nil {
		if time.Now().After(deadline) {
			t.Fatal("carol's ControlMaster connection is still open after she was removed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ = exec.Command("ssh", append(d.sshArgs(carol, "carol", "-o", "ControlMaster=no", "-o", "ControlPath="+sock), "list")...).Output()
	if strings.Contains(string(out), "sh1") {
		t.Errorf("carol listed consoles after her removal: %q", out)
	}

	// alice types on; bob's keystrokes never reached the machine.
	a := d.interactive(alice, "alice", "sh1")
	a.Expect(`attached to sh1 read-write`, 10*time.Second)
	a.Send("echo alice-after-$((3+3))\r")
	a.Expect(`alice-after-6`, 5*time.Second)
	if who, _, _ := d.ssh(alice, "", "who", "sh1"); strings.Contains(who, "dave") || strings.Contains(who, "carol") {
		t.Errorf("removed users still in who:\n%s", who)
	}
	log := testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "sh1.log"), "alice-after-6", 5*time.Second)
	if strings.Contains(log, "bob-after-4") {
		t.Error("a demoted user's keystrokes reached the machine")
	}
	// The record says what happened: bob did not give write access up.
	if !strings.Contains(log, "[-- consoled: bob lost write access (configuration reloaded) ") || strings.Contains(log, "bob gave up") {
		t.Errorf("the log does not say bob lost write access to the reload:\n%s", log)
	}
	audit := testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "audit.log"), `"action":"disconnect"`, 5*time.Second)
	for _, want := range []string{`"user":"bob"`, `"action":"demote"`, `"user":"dave"`, `"action":"revoke"`,
		`"user":"carol"`, `"result":"refused: read-only access"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %s:\n%s", want, audit)
		}
	}
}

// A reload is all or nothing: one that changes log_dir is refused whole,
// saying why, and nothing of it applies (no console added, the logs
// command and the logs stay where they were); one whose new console
// cannot open its log changes nothing either.
func TestReloadAllOrNothing(t *testing.T) {
	alice := newKey(t, "alice")
	users := userBlock("alice", alice) + "admins = [\"alice\"]\n"
	d := startConsoled(t, users+shConsole("keep", "keep"))
	d.waitState(alice, "keep", "up")
	cfgPath := filepath.Join(d.Dir, "consoled.hcl")

	os.WriteFile(cfgPath, []byte("log_dir = \"elsewhere\"\n"+users+shConsole("keep", "keep")+shConsole("added", "added")), 0o600)
	_, errOut, code := d.ssh(alice, "", "reload")
	if code != 1 || !strings.Contains(errOut, "reload refused, the running configuration stays") || !strings.Contains(errOut, "log_dir") {
		t.Errorf("reload changing log_dir: exit %d, %q", code, errOut)
	}
	if out, _, _ := d.ssh(alice, "", "list"); strings.Contains(out, "added") {
		t.Errorf("a refused reload started a console:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(d.Dir, "elsewhere")); err == nil {
		t.Error("a refused reload created the new log_dir")
	}

	// A new console whose log cannot be opened: refused, and the console
	// it would remove keeps running.
	os.MkdirAll(filepath.Join(d.Dir, "logs", "added.log"), 0o750)
	os.WriteFile(cfgPath, []byte(users+shConsole("added", "added")), 0o600)
	_, errOut, code = d.ssh(alice, "", "reload")
	if code != 1 || !strings.Contains(errOut, "reload refused, the running configuration stays") || !strings.Contains(errOut, "console added") {
		t.Errorf("reload with an unopenable log: exit %d, %q", code, errOut)
	}
	d.waitState(alice, "keep", "up")
	if out, _, code := d.ssh(alice, "", "logs", "keep", "--tail", "5"); code != 0 || !strings.Contains(out, "keep$") {
		t.Errorf("logs after refused reloads: %d %q", code, out)
	}
}

// A `logs --follow` of a console a reload removes is told so (not that its
// user lost access), and gets the whole log first: every line the machine
// printed up to its stop, and the mark of the stop.
func TestFollowOfRemovedConsole(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	users := userBlock("alice", alice) + userBlock("bob", bob)
	gone := `
console "gone" {
  exec { command = ["/bin/sh", "-c", "i=0; while :; do i=$((i+1)); echo \"gone line $i\"; sleep 0.01; done"] }
}
`
	d := startConsoled(t, users+gone+shConsole("keep", "keep"))
	d.waitState(alice, "gone", "up")
	cmd := exec.Command("ssh", append(d.sshArgs(bob, "console"), "logs", "gone", "--follow")...)
	out, errb := &testharness.Buffer{}, &testharness.Buffer{}
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "gone line 20\n") {
		if time.Now().After(deadline) {
			t.Fatalf("the follow printed %q", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	os.WriteFile(filepath.Join(d.Dir, "consoled.hcl"), []byte(users+shConsole("keep", "keep")), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitStderr("msg=reloaded", 10*time.Second)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the follow did not end; stderr %q", errb.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(errb.String(), "console gone was removed from the configuration") ||
		strings.Contains(errb.String(), "may no longer use") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	log, err := os.ReadFile(filepath.Join(d.Dir, "logs", "gone.log"))
	if err != nil {
		t.Fatal(err)
	}
	// The follow printed the log to its end: its last machine line, then the
	// mark of the stop.
	lines := regexp.MustCompile(`gone line \d+`).FindAllString(string(log), -1)
	got := out.String()
	if len(lines) == 0 || !strings.Contains(got, lines[len(lines)-1]+"\n") ||
		!strings.Contains(got, "[-- consoled: console down: console removed from the configuration") {
		t.Errorf("the follow did not print the log to its end:\nfollow ends %q\nlog ends    %q", tail(got, 300), tail(string(log), 300))
	}
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }
