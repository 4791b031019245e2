package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// Crash a real kernel with magic SysRq c and find it the morning after:
// panics lists exactly one event with the headline, logs shows it with
// context and timestamps, the hook ran once, and the offline command
// agrees. Before that, SysRq t, w and l (task dump, blocked tasks, CPU
// backtraces: call traces someone asked for) are no crash: no mark, no
// entry, no hook.
func TestGuestPanic(t *testing.T) {
	g := privateGuest(t)
	alice := newKey(t, "alice")
	hookOut := filepath.Join(t.TempDir(), "hook.out")
	d := startOnGuest(t, g, alice, fmt.Sprintf(`
on_panic {
  command = ["/bin/sh", "-c", "echo \"$CONSOLED_CONSOLE|$CONSOLED_HEADLINE\" >> %s"]
}
`, hookOut))
	logPath := filepath.Join(d.Dir, "logs", "vm1.log")
	for i, sysrq := range [][2]string{{"t", "Show State"}, {"w", "Show Blocked State"}, {"l", "Show backtrace of all active CPUs"}} {
		if out, errOut, code := d.ssh(alice, "", "break", "vm1", sysrq[0], "--expect", sysrq[1], "--wait", "20s"); code != 0 {
			t.Fatalf("break vm1 %s: exit %d\n%s\n%s", sysrq[0], code, out, errOut)
		}
		// the shell answers after the kernel has printed all of it
		if _, errOut, code := d.ssh(alice, "", "send", "vm1", fmt.Sprintf("echo sysrq-done-$((%d+1))", i)); code != 0 {
			t.Fatalf("send: exit %d %s", code, errOut)
		}
		testharness.ReadFileUntil(t, logPath, fmt.Sprintf("sysrq-done-%d\r\n", i+1), 60*time.Second)
	}
	if log, _ := os.ReadFile(logPath); !strings.Contains(string(log), "Call Trace:") {
		t.Fatalf("the task dump printed no call trace:\n%s", log)
	}
	if out, _, code := d.ssh(alice, "", "panics"); code != 0 || out != "" {
		t.Fatalf("panics after SysRq t, w, l: exit %d\n%s", code, out)
	}
	if log, _ := os.ReadFile(logPath); strings.Contains(string(log), "panic detected") {
		t.Fatalf("SysRq t, w or l marked as a crash:\n%s", log)
	}
	if _, err := os.Stat(hookOut); !os.IsNotExist(err) {
		t.Fatalf("on_panic ran for SysRq t, w or l (%v)", err)
	}

	out, errOut, code := d.ssh(alice, "", "break", "vm1", "c", "--expect", "Kernel panic", "--wait", "20s")
	if code != 0 {
		t.Fatalf("break vm1 c: exit %d\n%s\n%s", code, out, errOut)
	}
	// the last line of the crash, then its mark after it
	testharness.ReadFileUntil(t, logPath, "---[ end Kernel panic - not syncing: sysrq triggered crash ]---", 30*time.Second)

	out, _, code = d.ssh(alice, "", "panics")
	lines := trimLines(out)
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "vm1 ") ||
		!strings.HasSuffix(lines[0], " Kernel panic - not syncing: sysrq triggered crash") ||
		!strings.HasPrefix(lines[1], "logs vm1 --since ") {
		t.Fatalf("panics: exit %d\n%s", code, out)
	}
	// The logs command it suggests shows the crash.
	if win, _, _ := d.ssh(alice, "", strings.Fields(lines[1])...); !strings.Contains(win, "Kernel panic - not syncing: sysrq triggered crash") {
		t.Errorf("%s:\n%s", lines[1], win)
	}
	out, _, _ = d.ssh(alice, "", "logs", "vm1", "--grep", "Kernel panic", "--context", "5")
	if !strings.Contains(out, "sysrq: Trigger a crash") || !strings.Contains(out, "Kernel panic - not syncing: sysrq triggered crash") {
		t.Errorf("logs --grep --context:\n%s", out)
	}
	out, _, _ = d.ssh(alice, "", "logs", "vm1", "--since", "1m", "--timestamps", "--grep", "sysrq")
	stamp := regexp.MustCompile(`^(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.\.)?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ|\d\d:\d\d:\d\dZ) `)
	n := 0
	for _, l := range trimLines(out) {
		m := stamp.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line without a timestamp: %q", l)
			continue
		}
		if !strings.Contains(m[1], "T") { // the last byte's time of day, after the first's date
			m[1] = l[:len("2006-01-02T")] + m[1]
		}
		ts, _ := time.Parse(time.RFC3339, m[1])
		if time.Since(ts) > time.Minute || time.Since(ts) < -time.Second {
			t.Errorf("timestamp %s is not within the last minute", m[1])
		}
		n++
	}
	if n == 0 {
		t.Errorf("logs --since 1m --timestamps printed nothing")
	}
	hook := testharness.ReadFileUntil(t, hookOut, "vm1|", 10*time.Second)
	if strings.TrimSpace(hook) != "vm1|Kernel panic - not syncing: sysrq triggered crash" {
		t.Errorf("hook ran with %q", hook)
	}
	log, _ := os.ReadFile(logPath)
	if strings.Count(string(log), "[-- consoled: panic detected: ") != 1 {
		t.Errorf("vm1.log should mark the crash once")
	}
	if jl, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "panics.jsonl")); strings.Count(string(jl), "\n") != 1 {
		t.Errorf("panics.jsonl should hold one crash:\n%s", jl)
	}
	// The same from a copy of the log directory, offline.
	off, err := exec.Command(binary, "panics", "-data", filepath.Join(d.Dir, "logs")).CombinedOutput()
	if err != nil || !strings.Contains(string(off), "Kernel panic - not syncing: sysrq triggered crash") {
		t.Errorf("offline panics: %v\n%s", err, off)
	}
	off, err = exec.Command(binary, "logs", "-data", filepath.Join(d.Dir, "logs"), "vm1", "--grep", "end Kernel panic").CombinedOutput()
	if err != nil || !strings.Contains(string(off), "---[ end Kernel panic - not syncing: sysrq triggered crash ]---") {
		t.Errorf("offline logs: %v\n%s", err, off)
	}
}

// markLine matches a mark line; a mark flagged mid-line with the "\n"
// before it, which consoled added (see logstore's package doc).
var markLine = regexp.MustCompile(`\n\[-- consoled: [^\n]* \(mid-line\) --\]\n|\[-- consoled: [^\n]* --\]\n`)

// The logs command over ssh, on an exec console whose reply ends a line
// that a prompt began seconds earlier: a range that holds only the reply
// finds the line and --timestamps shows both ends; --raw gives the log's
// bytes exactly; panics for an unknown console is an error.
func TestLogsRangeAndRawOverSSH(t *testing.T) {
	alice := newKey(t, "alice")
	gate := filepath.Join(t.TempDir(), "reply")
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf(`
console "box" {
  exec { command = ["/bin/sh", "-c", "printf 'prompt# '; while [ ! -e %s ]; do sleep 0.05; done; printf 'late reply\n'; printf 'bare\\rcr\n'; printf 'unended'; exec sleep 3600"] }
}
`, gate))
	logPath := filepath.Join(d.Dir, "logs", "box.log")
	testharness.ReadFileUntil(t, logPath, "prompt# ", 20*time.Second)
	// The reply comes in a later second than the prompt, two at least.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(2 * time.Second)))
	since := time.Now().Truncate(time.Second)
	os.WriteFile(gate, nil, 0o600)
	testharness.ReadFileUntil(t, logPath, "unended", 20*time.Second)
	until := time.Now().Add(time.Second)
	out, errOut, code := d.ssh(alice, "", "logs", "box", "--since", since.Format(time.RFC3339), "--until", until.UTC().Format(time.RFC3339), "--grep", "late reply", "--timestamps")
	stamped := regexp.MustCompile(`^(\S+)Z\.\.(\S+)Z prompt# late reply$`)
	m := stamped.FindStringSubmatch(strings.TrimSpace(out))
	if code != 0 || m == nil {
		t.Fatalf("logs box --since %s --grep 'late reply' --timestamps: exit %d\n%q\n%s", since.Format(time.RFC3339), code, out, errOut)
	}
	first, _ := time.Parse("2006-01-02T15:04:05", m[1])
	last, err := time.Parse("2006-01-02T15:04:05", m[2])
	if err != nil { // the time of day only, on the first byte's date
		last, err = time.Parse("2006-01-02T15:04:05", m[1][:len("2006-01-02T")]+m[2])
	}
	if err != nil || !first.Before(since) || last.Before(since) || last.After(until) {
		t.Errorf("the line is stamped %s..%s: want its first byte before %s and its last within the range", m[1], m[2], since.UTC().Format(time.RFC3339))
	}
	if out, _, code = d.ssh(alice, "", "logs", "box", "--since", "1d", "--grep", "late"); code != 0 || strings.TrimSpace(out) != "prompt# late reply" {
		t.Errorf("logs box --since 1d --grep late: exit %d %q", code, out)
	}
	// The console prints nothing more (its command sleeps): the file is
	// what --raw must give back.
	want, _ := os.ReadFile(logPath)
	out, errOut, code = d.ssh(alice, "", "logs", "box", "--raw")
	if code != 0 || out != string(want) || !strings.HasSuffix(out, "prompt# late reply\r\nbare\rcr\r\nunended") {
		t.Errorf("logs --raw: exit %d\n%q\nwant the recorded bytes\n%q\n%s", code, out, want, errOut)
	}
	// A range given the wrong way round is refused, not an empty answer.
	out, errOut, code = d.ssh(alice, "", "logs", "box", "--since", until.UTC().Format(time.RFC3339), "--until", since.UTC().Format(time.RFC3339))
	if code != 2 || !strings.Contains(errOut, "--until "+since.UTC().Format(time.RFC3339)+" is before --since") {
		t.Errorf("logs with --until before --since: exit %d %q %q", code, out, errOut)
	}
	out, errOut, code = d.ssh(alice, "", "panics", "nosuch")
	if code == 0 || !strings.Contains(errOut, `no console "nosuch"`) {
		t.Errorf("panics nosuch: exit %d %q %q", code, out, errOut)
	}
}

// The offline commands: flags in any order, days in --since, an unknown
// console is an error, and consoled -h lists them.
func TestOfflineCommandLine(t *testing.T) {
	dir := t.TempDir()
	crash := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	os.WriteFile(filepath.Join(dir, "vm1.log"), []byte("login: Kernel panic - not syncing\r\n"), 0o640)
	ev := fmt.Sprintf(`{"console":"vm1","time":%q,"headline":"Kernel panic - not syncing"}`+"\n", crash.Format(time.RFC3339))
	os.WriteFile(filepath.Join(dir, "panics.jsonl"), []byte(ev), 0o640)
	run := func(args ...string) (string, int) {
		t.Helper()
		out, err := exec.Command(binary, args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	for _, args := range [][]string{
		{"panics", "--since", "2h", "-data", dir},
		{"panics", "-data", dir, "--since", "1d"},
		{"panics", "vm1", "--data=" + dir},
	} {
		if out, code := run(args...); code != 0 || !strings.Contains(out, "vm1 "+crash.Format(time.RFC3339)+" Kernel panic") {
			t.Errorf("consoled %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
	}
	if out, code := run("logs", "vm1", "--grep", "panic", "-data", dir); code != 0 || out != "login: Kernel panic - not syncing\n" {
		t.Errorf("consoled logs vm1 --grep panic -data DIR: exit %d %q", code, out)
	}
	if out, code := run("panics", "-data", dir, "nosuch"); code != 2 || !strings.Contains(out, `no console "nosuch"`) {
		t.Errorf("consoled panics -data DIR nosuch: exit %d %q", code, out)
	}
	if out, code := run("-h"); code != 0 || !strings.Contains(out, "consoled logs -data DIR NAME") || !strings.Contains(out, "consoled panics -data DIR") {
		t.Errorf("consoled -h: exit %d\n%s", code, out)
	}
}

// logs --follow over ssh goes on across rotations without losing or
// cutting a line, while the machine prints lines in halves (the follower
// often meets an unfinished line), and under ssh -t Ctrl-C ends it.
func TestLogsFollowAcrossRotationsOverSSH(t *testing.T) {
	alice := newKey(t, "alice")
	gate := filepath.Join(t.TempDir(), "go")
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf(`
console "ticker" {
  exec { command = ["/bin/sh", "-c", "while [ ! -e %s ]; do sleep 0.05; done; i=1000; while [ $i -lt 1400 ]; do printf 'trickle line %%d of the ' $i; sleep 0.01; printf 'console, about sixty bytes long\n'; i=$((i+1)); sleep 0.01; done; echo finished; exec sleep 3600"] }
  log {
    max_size = "4KiB"
    keep     = 50
  }
}
`, gate))
	d.waitState(alice, "ticker", "up")
	need(t, "ssh (openssh-client)", have("ssh"))
	cmd := exec.Command("ssh", append(d.sshArgs(alice, "console"), "logs", "ticker", "--follow")...)
	out := &testharness.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	waitOut := func(s string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(out.String(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("logs --follow printed no %q:\n%s", s, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitOut("console up")
	os.WriteFile(gate, nil, 0o600)
	waitOut("finished\n")
	rotated, _ := filepath.Glob(filepath.Join(d.Dir, "logs", "ticker.log.*.idx"))
	if len(rotated) < 4 {
		t.Fatalf("%d rotations, want several", len(rotated))
	}
	var got []string
	for _, l := range strings.Split(out.String(), "\n") {
		if !markLine.MatchString(l+"\n") && strings.TrimSpace(l) != "" && l != "finished" {
			got = append(got, l)
		}
	}
	for i, l := range got {
		if want := fmt.Sprintf("trickle line %d of the console, about sixty bytes long", 1000+i); l != want {
			t.Fatalf("line %d of what --follow printed across %d rotations is %q, want %q", i, len(rotated), l, want)
		}
	}
	if len(got) != 400 {
		t.Errorf("--follow printed %d lines, want 400", len(got))
	}

	// Under ssh -t, Ctrl-C ends it.
	tm := d.interactive(alice, "console", "logs", "ticker", "--follow", "--tail", "3")
	tm.Expect(`line 1399 of the console, about sixty bytes long\r\nfinished\r\n`, 20*time.Second)
	tm.Send("\x03")
	if code := tm.Wait(15 * time.Second); code != 130 {
		t.Errorf("logs --follow ended by Ctrl-C: exit %d, want 130 (as break --wait)", code)
	}
}
