package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// shTagged is a shell console with tags and access lists, whose exec
// break bytes type a command (so BREAK is visible in its output).
func shTagged(name, tags, lists string) string {
	return fmt.Sprintf(`
console %q {
  exec {
    command = ["/bin/sh", "-c", "PS1='%s$ ' exec /bin/sh -i"]
    break   = "echo brk-on-$PS1 | tr a-z A-Z\r"
  }
  tags = [%s]
%s}
`, name, name, tags, lists)
}

// Console sets over ssh: list, send, break --expect, who, logs and panics
// take a set; one result line per console, a non-zero exit naming the
// failures; a set narrows to what the user may see, a console the user
// may only watch is refused; an action on many consoles needs --yes in a
// script and asks in a terminal.
func TestConsoleSets(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	cfg := userBlock("alice", alice) + userBlock("bob", bob) +
		shTagged("web01", `"rack12", "web"`, "") +
		shTagged("web02", `"rack12", "web"`, `  rw = ["alice"]`+"\n  ro = [\"bob\"]\n") +
		shTagged("web03", `"rack13", "web"`, `  rw = ["alice"]`+"\n") +
		shTagged("db01", `"rack12"`, "")
	d := startConsoled(t, cfg)
	for _, n := range []string{"web01", "web02", "web03", "db01"} {
		d.waitState(alice, n, "up")
	}

	// list SET: only the set, narrowed for bob.
	if out, _, code := d.ssh(alice, "", "list", "@rack12"); code != 0 || names(out) != "db01 web01 web02" {
		t.Errorf("list @rack12: %d %q", code, out)
	}
	if out, _, code := d.ssh(bob, "", "list", "web*"); code != 0 || names(out) != "web01 web02" {
		t.Errorf("list web* as bob: %d %q", code, out)
	}
	if out, errOut, code := d.ssh(alice, "", "list", "web[01-02],nosuch"); code != 1 || names(out) != "web01 web02" ||
		!strings.Contains(errOut, "no console nosuch") {
		t.Errorf("list with an unknown name: %d %q %q", code, out, errOut)
	}
	if _, errOut, code := d.ssh(alice, "", "list", "web[2-1]"); code != 2 || !strings.Contains(errOut, "runs backwards") {
		t.Errorf("list of a bad set: %d %q", code, errOut)
	}

	// send to many: --yes in a script.
	if _, errOut, code := d.ssh(alice, "", "send", "@web", "echo", "x"); code != 2 ||
		!strings.Contains(errOut, "send on 3 consoles (web01, web02, web03) needs --yes in a script") {
		t.Errorf("send without --yes: %d %q", code, errOut)
	}
	out, errOut, code := d.ssh(alice, "", "send", "--yes", "@rack12&web*", "echo", "sets-ok", "|", "tr", "a-z", "A-Z")
	if code != 0 || out != "web01: sent 26 bytes\nweb02: sent 26 bytes\n" {
		t.Errorf("send @rack12&web*: %d %q %q", code, out, errOut)
	}
	// logs SET: lines prefixed with the console's name.
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _, _ = d.ssh(alice, "", "logs", "web*", "--grep", "^SETS-OK")
		if out == "web01: SETS-OK\nweb02: SETS-OK\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs web* --grep: %q", out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// bob: web02 he may only watch (refused), web03 he cannot see (absent),
	// db01 and web01 he may write.
	out, errOut, code = d.ssh(bob, "", "send", "--yes", "*", "echo", "bob-was-here")
	if code != 1 || out != "db01: sent 18 bytes\nweb01: sent 18 bytes\nweb02: refused: read-only access\n" ||
		!strings.Contains(errOut, "send failed on 1 of 3 consoles: web02") {
		t.Errorf("send * as bob: %d %q %q", code, out, errOut)
	}

	// break --expect on a set: one line per console with the matched line.
	out, errOut, code = d.ssh(alice, "", "break", "@rack12", "--expect", `BRK-ON-[A-Z0-9]+[$]`, "--yes")
	if code != 0 {
		t.Errorf("break @rack12: %d %q %q", code, out, errOut)
	}
	for _, n := range []string{"db01", "web01", "web02"} {
		want := fmt.Sprintf(`%s: BREAK sent, matched: "BRK-ON-%s$"`, n, strings.ToUpper(n))
		if !strings.Contains(out, want+"\n") {
			t.Errorf("break @rack12: no %q in %q", want, out)
		}
	}
	// One console that does not match: exit 1, named.
	out, errOut, code = d.ssh(alice, "", "break", "web01,db01", "--expect", "BRK-ON-WEB", "--wait", "3s", "--yes")
	if code != 1 || !strings.Contains(out, `db01: failed: not seen within 3s: "BRK-ON-WEB"`) ||
		!strings.Contains(errOut, "break failed on 1 of 2 consoles: db01") {
		t.Errorf("break with a miss: %d %q %q", code, out, errOut)
	}

	// who SET while alice is attached to web01.
	tm := d.interactive(alice, "console", "web01")
	tm.Expect(`attached to web01 read-write`, 10*time.Second)
	out, _, code = d.ssh(bob, "", "who", "web*")
	if code != 0 || !regexp.MustCompile(`^web01: alice +rw since \S+ from 127\.0\.0\.1:\d+\nweb02: -\n$`).MatchString(out) {
		t.Errorf("who web*: %d %q", code, out)
	}

	// panics SET: only the set's crashes.
	d.ssh(alice, "", "send", "db01", "echo", "Kernel", "PANIC", "-", "not", "syncing:", "sets", "|", "sed", "s/PANIC/panic/")
	d.ssh(alice, "", "send", "web03", "echo", "Kernel", "PANIC", "-", "not", "syncing:", "other", "|", "sed", "s/PANIC/panic/")
	deadline = time.Now().Add(20 * time.Second)
	for {
		out, _, _ = d.ssh(alice, "", "panics", "@rack12")
		all, _, _ := d.ssh(alice, "", "panics")
		if strings.Contains(out, "db01 ") && strings.Contains(all, "web03 ") {
			if strings.Contains(out, "web03") {
				t.Errorf("panics @rack12 shows web03:\n%s", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("panics @rack12: %q; all: %q", out, all)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// In a terminal, an action on many consoles asks first; n: not done.
	ask := d.interactive(alice, "console", "power", "@web", "cycle")
	ask.Expect(`power cycle on 3 consoles \(web01, web02, web03\)\? \[y/N\] `, 10*time.Second)
	ask.Send("n")
	ask.Expect(`power cycle not done`, 10*time.Second)
	if code := ask.Wait(10 * time.Second); code != 1 {
		t.Errorf("declined power cycle: exit %d", code)
	}
	// y: done on each, one line each (no power control here: failures).
	ask = d.interactive(alice, "console", "power", "@web", "cycle")
	ask.Expect(`\[y/N\] `, 10*time.Second)
	ask.Send("y")
	ask.Expect(`web01: failed: no power control configured\r\nweb02: failed: no power control configured\r\nweb03: failed: no power control configured\r\n`, 10*time.Second)
	ask.Expect(`power cycle failed on 3 of 3 consoles`, 10*time.Second)
	if code := ask.Wait(10 * time.Second); code != 1 {
		t.Errorf("power cycle without power control: exit %d", code)
	}
}

// names is the first word of each line of a listing.
func names(out string) string {
	var n []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			n = append(n, f[0])
		}
	}
	return strings.Join(n, " ")
}
