package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A broadcast session (ssh -t console@gw SET): every console's output line
// by line, prefixed with its name in a colour of its own, whole lines only
// however fast the consoles print; keys go, as typed, to every console the
// user may write; ^Ecl0 breaks all, ^Ecw tells who is on each.
func TestBroadcast(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	pad := strings.Repeat("x", 150)
	sh := func(name, lists string) string {
		return fmt.Sprintf(`
console %q {
  exec {
    command = ["/bin/sh", "-c", "N=%s L=%s PS1='%s$ ' exec /bin/sh -i"]
    break   = "echo brk-on-$N | tr a-z A-Z\r"
  }
  tags = ["web"]
%s}
`, name, name, pad, name, lists)
	}
	keys := filepath.Join(t.TempDir(), "keys.sh")
	os.WriteFile(keys, []byte("#!/bin/sh\nstty raw -echo\nwhile :; do c=$(dd bs=1 count=1 2>/dev/null); printf 'key<%s>\\r\\n' \"$c\"; done\n"), 0o755)
	menu := func(name string) string {
		return fmt.Sprintf("console %q {\n  exec { command = [%q] }\n  tags = [\"menu\"]\n}\n", name, keys)
	}
	d := startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+
		sh("web01", "")+sh("web02", "")+sh("web03", "  ro = [\"alice\"]\n  rw = [\"bob\"]\n")+menu("menu01")+menu("menu02"))
	for _, n := range []string{"web01", "web02", "web03", "menu01", "menu02"} {
		d.waitState(alice, n, "up")
	}
	t.Setenv("TERM", "xterm-256color") // the ssh client asks for a terminal with colours

	tm := d.interactive(alice, "console", "@web")
	tm.Expect(`attached to 3 consoles: web01 rw, web02 rw, web03 ro; keys go to 2 of them; \^Ec\? for help`, 10*time.Second)
	tm.Send("echo hi-$((6*7))\r")
	// Each writable console answers, under its name in its colour.
	out := waitOutput(t, tm, 10*time.Second, "\x1b[31mweb01\x1b[0m: hi-42\r\n", "\x1b[32mweb02\x1b[0m: hi-42\r\n",
		"[consoled: web03: read-only: you may watch it, not type on it; keys not sent]\r\n")
	// A line left open (the prompt) is shown once the console is quiet.
	out += waitOutput(t, tm, 10*time.Second, "web01\x1b[0m: web01$ \r\n", "web02\x1b[0m: web02$ \r\n")
	if strings.Contains(out, "web03\x1b[0m: hi-42") {
		t.Errorf("keys reached web03, which alice may only watch:\n%q", out)
	}

	// Two consoles printing long lines as fast as they can: every line
	// shown whole, under the name of the console that printed it.
	tm.Send("for i in $(seq 1 300); do echo $N-line-$i-$L; done\r")
	out = waitOutput(t, tm, 60*time.Second, "web01\x1b[0m: web01-line-300-"+pad+"\r\n", "web02\x1b[0m: web02-line-300-"+pad+"\r\n")
	whole := regexp.MustCompile(`^\x1b\[3[12]m(web0[12])\x1b\[0m: (web0[12])-line-(\d+)-` + pad + `$`)
	seen := map[string]int{}
	for _, l := range strings.Split(out, "\r\n") {
		if !strings.Contains(l, "-line-") || strings.Contains(l, "for i in") {
			continue
		}
		m := whole.FindStringSubmatch(l)
		if m == nil || m[1] != m[2] {
			t.Fatalf("a line not whole or under another console's name: %q", l)
		}
		seen[m[1]]++
	}
	if seen["web01"] != 300 || seen["web02"] != 300 {
		t.Errorf("lines per console: %v", seen)
	}

	// Escapes act on every console.
	tm.Send("\x05cl0")
	waitOutput(t, tm, 10*time.Second, "web01\x1b[0m: BRK-ON-WEB01", "web02\x1b[0m: BRK-ON-WEB02",
		"on each console:\r\n  web01: sent BREAK\r\n  web02: sent BREAK\r\n  web03: refused: read-only access")
	bobOn3 := d.interactive(bob, "console", "web03")
	bobOn3.Expect(`attached to web03 read-write`, 10*time.Second)
	tm.Send("\x05cw")
	tm.Expect(`who:\r\n  web01: alice +rw since \S+ from 127\.0\.0\.1:\d+\r\n  web02: alice +rw since \S+ from \S+\r\n  web03: bob +rw since \S+ from \S+\r\n  web03: alice +ro since`, 10*time.Second)
	tm.Send("\x05c.")
	tm.Expect(`detached from @web`, 10*time.Second)
	if code := tm.Wait(10 * time.Second); code != 0 {
		t.Errorf("detach: exit %d", code)
	}
	log, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "web03.log"))
	if strings.Contains(string(log), "hi-") || strings.Contains(string(log), "BRK-ON") {
		t.Errorf("alice's keys or BREAK reached web03:\n%s", log)
	}

	// Without a terminal (a script): stdin to every console, lines
	// prefixed, no colours; notices on stderr.
	sout, serr, code := d.ssh(alice, "echo scripted-$((2+3))\n", "web0[1-2]")
	if code != 0 || !strings.Contains(sout, "web01: scripted-5\n") || !strings.Contains(sout, "web02: scripted-5\n") ||
		!strings.Contains(serr, "attached to 2 consoles: web01 rw, web02 rw; keys go to 2 of them\n") {
		t.Errorf("broadcast from a script: %d\nstdout %q\nstderr %q", code, sout, serr)
	}

	// The BIOS-menu case: keys reach every machine as they are typed, one
	// at a time, with no Enter.
	keysTm := d.interactive(alice, "console", "menu0[1-2]")
	keysTm.Expect(`attached to 2 consoles: menu01 rw, menu02 rw`, 10*time.Second)
	for _, k := range []string{"j", "j", "q"} {
		keysTm.Send(k)
		waitOutput(t, keysTm, 10*time.Second, "menu01\x1b[0m: key<"+k+">\r\n", "menu02\x1b[0m: key<"+k+">\r\n")
	}
}

// waitOutput waits until the terminal's output after its last match holds
// every one of want, and returns that output (the mark moves past it).
func waitOutput(t *testing.T, tm *term, timeout time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := tm.out.String()[tm.mark:]
		all := true
		for _, w := range want {
			all = all && strings.Contains(s, w)
		}
		if all {
			tm.mark += len(s)
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %v; output since the last match:\n%q", want, timeout, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
