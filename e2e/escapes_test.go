package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

const shEscapes = `
console "sh1" {
  exec { command = ["/bin/sh", "-c", "PS1='sh1$ ' exec /bin/sh -i"] }
}
break "5" {
  sequence = "echo seq-\\d$((40+2))\\r"
  delay    = "100ms"
}
`

// ^Ec? lists the escapes; ^Ecs gives up write access (what is typed then
// is not sent) and ^Eca takes it back; ^Ecp replays 60 lines where ^Ecr
// replays 20.
func TestEscapeHelpSpyReplay(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+shEscapes)
	d.waitState(alice, "sh1", "up")
	tm := d.interactive(alice, "console", "sh1")
	tm.Expect(`attached to sh1 read-write`, 10*time.Second)

	tm.Send("\x05c?")
	help := tm.Expect(`(?s)escapes:.*\^Ec\^Ec send \^E itself`, 5*time.Second)
	for _, want := range []string{"^Ec.   disconnect", "^Ecl0  send BREAK", "^Eca   take write access if nobody, or you in another session, has it", "^Ecf   force write access",
		"^Ecs   give up write access (spy)", "^Ecw   who is on this console", "^Ecr   replay the last 20 lines; ^Ecp the last 60",
		"^Ecn   write a note", "^Ecx   how this console is connected", "^Ec!s  power status"} {
		if !strings.Contains(help, want) {
			t.Errorf("^Ec? lacks %q:\n%s", want, help)
		}
	}

	tm.Send("\x05cs")
	tm.Expect(`now read-only \(spy\)`, 5*time.Second)
	if out, _, _ := d.ssh(alice, "", "who", "sh1"); !strings.Contains(out, " ro since ") || strings.Contains(out, " rw since ") {
		t.Errorf("who after ^Ecs: %q", out)
	}
	tm.Send("echo spy-$((6*7))\r")
	tm.Expect(`read-only`, 5*time.Second)
	tm.Send("\x05ca")
	tm.Expect(`attached read-write`, 5*time.Second)
	tm.Send("echo back-$((6*7))\r")
	tm.Expect(`back-42\r\n`, 5*time.Second)
	if log, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "sh1.log")); strings.Contains(string(log), "spy-42") {
		t.Errorf("typed while spying and reached the machine:\n%s", log)
	}

	// 70 numbered lines: ^Ecp shows line 15 (within the last 60), ^Ecr not.
	tm.Send("i=0; while [ $i -lt 70 ]; do i=$((i+1)); echo row-$i; done\r")
	tm.Expect(`row-70\r\n`, 10*time.Second)
	tm.Expect(`sh1\$ `, 5*time.Second)
	tm.Send("\x05cr")
	r := tm.Expect(`(?s)last 20 lines of sh1:.*?end of replay`, 5*time.Second)
	if strings.Contains(r, "row-15\r") || !strings.Contains(r, "row-70") {
		t.Errorf("^Ecr replay: %q", r)
	}
	tm.Send("\x05cp")
	p := tm.Expect(`(?s)last 60 lines of sh1:.*?end of replay`, 5*time.Second)
	if !strings.Contains(p, "row-15\r") || !strings.Contains(p, "row-70") || strings.Contains(p, "row-5\r") {
		t.Errorf("^Ecp replay: %q", p)
	}
	tm.Send("\x05c.")
	tm.Wait(10 * time.Second)
}

// OpenSSH's own ~B sends a BREAK request, which consoled turns into a
// BREAK on the console (the demo machine answers SysRq h with its help).
func TestOpenSSHBreakEscape(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+demoConsole)
	d.waitState(alice, "demo", "up")
	tm := d.interactiveWith([]string{"-o", "EscapeChar=~"}, alice, "console", "demo")
	tm.Expect(`demo:~# `, 10*time.Second)
	tm.Send("\r")
	tm.Expect(`demo:~# `, 5*time.Second)
	tm.Send("~B")
	tm.Expect(`sent BREAK`, 5*time.Second)
	tm.Send("h")
	tm.Expect(`sysrq: HELP`, 5*time.Second)
	testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "demo.log"), "alice sent BREAK", 5*time.Second)
	tm.Send("\r~.")
	tm.Wait(10 * time.Second)
}

// break --seq N sends a configured break sequence from a script.
func TestBreakSeqScript(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+shEscapes)
	d.waitState(alice, "sh1", "up")
	out, errOut, code := d.ssh(alice, "", "break", "sh1", "--seq", "5", "--expect", `seq-42`, "--wait", "10s")
	if code != 0 || !strings.Contains(out, "seq-42") {
		t.Errorf("break --seq 5: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, errOut, code := d.ssh(alice, "", "break", "sh1", "--seq", "7"); code != 2 || !strings.Contains(errOut, "7") {
		t.Errorf("break --seq 7 (not configured): exit %d, %q", code, errOut)
	}
	testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "sh1.log"), "seq-42", 5*time.Second)
}

// logs --follow over SSH prints what the console prints next.
func TestLogsFollowOverSSH(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+shEscapes)
	d.waitState(alice, "sh1", "up")
	if _, errOut, code := d.ssh(alice, "", "send", "sh1", "echo before-$((1+1))"); code != 0 {
		t.Fatalf("send: %d %q", code, errOut)
	}
	testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "sh1.log"), "before-2", 5*time.Second)
	cmd := exec.Command("ssh", append(d.sshArgs(alice, "console"), "logs", "sh1", "--follow")...)
	out := &testharness.Buffer{}
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("logs --follow did not show %q; stdout %q stderr %q", want, out.String(), errb.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("before-2")
	for i := 1; i <= 3; i++ {
		if _, errOut, code := d.ssh(alice, "", "send", "sh1", fmt.Sprintf("echo after-$((%d*11))", i)); code != 0 {
			t.Fatalf("send: %d %q", code, errOut)
		}
		waitFor(fmt.Sprintf("after-%d", i*11))
	}
}
