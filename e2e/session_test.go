package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// conserver's session niceties: motd on attach; initcmd sent each time a
// console comes up; idle_timeout ends an idle interactive session (a
// writer's idleness counts keystrokes only, a viewer watching output is not
// idle); idle_string sent after a period of silence.
func TestSessionNiceties(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	d := startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+`
motd = "Change freeze until Friday: ask #ops first"
console "sw1" {
  exec { command = ["/bin/sh", "-c", "PS1='sw1> ' exec /bin/sh -i"] }
  initcmd = "echo woken-$((40+2))\r"
}
console "ticker" {
  exec { command = ["/bin/sh", "-c", "while :; do echo tick; sleep 0.3; done"] }
  rw = ["alice"]
  ro = ["bob"]
  idle_timeout = "3s"
}
console "quiet" {
  exec { command = ["/bin/sh", "-c", "PS1='quiet> ' exec /bin/sh -i"] }
  idle_string = "echo keepalive-$((6*7))\r"
  idle_string_after = "1s"
}
`)
	for _, n := range []string{"sw1", "ticker", "quiet"} {
		d.waitState(alice, n, "up")
	}
	// initcmd: typed into the console as it came up, and marked.
	sw1 := testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "sw1.log"), "woken-42", 10*time.Second)
	if !strings.Contains(sw1, "initcmd sent") {
		t.Errorf("initcmd not marked:\n%s", sw1)
	}

	// motd, shown to whoever attaches with a terminal.
	tm := d.interactive(alice, "console", "sw1")
	tm.Expect(`\[consoled: Change freeze until Friday: ask #ops first\]`, 10*time.Second)
	tm.Expect(`attached to sw1 read-write`, 10*time.Second)

	// idle_timeout: alice writes and types nothing: cut off; bob watches
	// the ticks and stays.
	viewer := d.interactive(bob, "console", "ticker")
	viewer.Expect(`attached to ticker read-only`, 10*time.Second)
	writer := d.interactive(alice, "console", "ticker")
	writer.Expect(`attached to ticker read-write`, 10*time.Second)
	start := time.Now()
	writer.Expect(`disconnected: idle for 3s \(idle_timeout\)`, 20*time.Second)
	if took := time.Since(start); took < 2500*time.Millisecond {
		t.Errorf("cut off after %v, before the 3s idle_timeout", took)
	}
	if code := writer.Wait(10 * time.Second); code != 1 {
		t.Errorf("idle writer: exit %d", code)
	}
	time.Sleep(2 * time.Second) // past bob's own 3 s, as the output flowed
	viewer.Expect(`tick`, 5*time.Second)
	if strings.Contains(viewer.out.String(), "idle for") {
		t.Errorf("a viewer watching output was cut off as idle:\n%q", viewer.out.String())
	}
	// A broadcast session too: the motd, and the console's idle_timeout.
	bc := d.interactive(alice, "console", "tick*")
	bc.Expect(`\[consoled: Change freeze until Friday: ask #ops first\]`, 10*time.Second)
	bc.Expect(`attached to 1 consoles: ticker rw`, 10*time.Second)
	bc.Expect(`disconnected: idle for 3s \(idle_timeout\)`, 20*time.Second)
	if code := bc.Wait(10 * time.Second); code != 1 {
		t.Errorf("idle broadcast session: exit %d", code)
	}
	// A writer who types is not idle.
	typist := d.interactive(alice, "console", "ticker")
	typist.Expect(`attached to ticker read-write`, 10*time.Second)
	for i := 0; i < 5; i++ {
		time.Sleep(time.Second)
		typist.Send("x")
	}
	if strings.Contains(typist.out.String(), "idle for") {
		t.Errorf("a typing writer was cut off as idle")
	}

	// idle_string: sent after each second of silence.
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "quiet.log"))
		if strings.Count(string(b), "\nkeepalive-42") >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle_string not sent twice:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
