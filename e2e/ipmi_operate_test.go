package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// With steal = true in consoled's config, an ipmi console takes over a SOL
// session someone left open with ipmitool; without it, the console stays
// down and list says why, and ipmitool keeps the console.
func TestIPMIStealThroughConfig(t *testing.T) {
	bmc := testharness.StartBMC(t)
	host := bmc.HostSerial()
	alice := newKey(t, "alice")
	toolOut := startIPMITool(t, bmc)

	// Without steal: refused, with the way out in the reason.
	d := startConsoled(t, userBlock("alice", alice)+ipmiConsole("db01", bmc, ""))
	d.waitList(alice, "db01", "down", "already active on another session")
	d.Stop()
	host.Write([]byte("still ipmitool's\r\n"))
	waitBuffer(t, toolOut, "still ipmitool's", 10*time.Second)

	// With steal = true: consoled takes the console over.
	d = startConsoled(t, userBlock("alice", alice)+ipmiConsole("db01", bmc, "steal = true"))
	d.waitState(alice, "db01", "up")
	host.Write([]byte("now consoled's\r\n"))
	log := testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "db01.log"), "now consoled's", 10*time.Second)
	if strings.Contains(log, "console down") {
		t.Errorf("db01 went down after stealing:\n%s", log)
	}
	tm := d.interactive(alice, "console", "db01")
	tm.Expect(`attached to db01 read-write`, 10*time.Second)
	host.Write([]byte("seen by alice\r\n"))
	tm.Expect(`seen by alice`, 10*time.Second)
	if strings.Contains(toolOut.String(), "now consoled's") {
		t.Errorf("ipmitool still got the console's output after the steal:\n%s", toolOut.String())
	}
}

// Power from inside a console (^Ec! then a key) with the y/N question,
// against ipmi_sim: each action reaches the BMC (its chassis hook writes
// $POWER_LOG) and is marked with who did it; answering n does nothing.
func TestIPMIPowerEscapes(t *testing.T) {
	bmc := testharness.StartBMC(t)
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+ipmiConsole("db01", bmc, ""))
	d.waitState(alice, "db01", "up")
	tm := d.interactive(alice, "console", "db01")
	tm.Expect(`attached to db01 read-write`, 10*time.Second)

	powerLog := bmc.Env["POWER_LOG"]
	logged := func() string { b, _ := os.ReadFile(powerLog); return string(b) }
	// sets lists the chassis settings in a stretch of the power log, in
	// order ("set power 0", "set reset 1", ...), without the timestamps.
	sets := func(s string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`(?m)^\S+ (set .*)$`).FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		return out
	}
	steps := []struct {
		key, action string
		want        []string // what the BMC is told
	}{
		{"0", "off", []string{"set power 0"}},
		{"1", "on", []string{"set power 1"}},
		{"r", "reset", []string{"set reset 1"}},
		{"c", "cycle", []string{"set power 0", "set power 1"}},
	}
	for _, st := range steps {
		before := len(logged())
		tm.Send("\x05c!" + st.key)
		tm.Expect(`power `+st.action+` db01\? \[y/N\] `, 5*time.Second)
		tm.Send("y")
		tm.Expect(`power `+st.action+` by alice`, 20*time.Second)
		deadline := time.Now().Add(15 * time.Second) // a cycle's "on" follows its "off" after a second or so
		for {
			got := sets(logged()[before:])
			if strings.Join(got, ",") == strings.Join(st.want, ",") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("^Ec!%s y: the BMC was told %q, want %q; power log:\n%s", st.key, got, st.want, logged())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	tm.Send("\x05c!s")
	tm.Expect(`db01: power is on`, 15*time.Second)

	// n: cancelled, and nothing reaches the BMC. The reset confirmed after
	// it is the only setting the BMC gets from here on.
	before := len(logged())
	tm.Send("\x05c!0")
	tm.Expect(`power off db01\? \[y/N\] `, 5*time.Second)
	tm.Send("n")
	tm.Expect(`power off cancelled`, 5*time.Second)
	tm.Send("\x05c!r")
	tm.Expect(`power reset db01\? \[y/N\] `, 5*time.Second)
	tm.Send("y")
	tm.Expect(`power reset by alice`, 20*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logged()[before:], "set reset 1") {
		if time.Now().After(deadline) {
			t.Fatalf("the reset after the cancelled off did not reach the BMC:\n%s", logged())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := sets(logged()[before:]); strings.Join(got, ",") != "set reset 1" {
		t.Errorf("after answering n to power off, the BMC was told %q; want only the later reset", got)
	}
	if b, _ := os.ReadFile(bmc.Env["POWER_STATE"]); strings.TrimSpace(string(b)) != "1" {
		t.Errorf("power state after the cancelled off: %q, want 1 (on)", b)
	}
	log := testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "db01.log"), "power reset by alice", 5*time.Second)
	if n := strings.Count(log, "power off by alice"); n != 1 {
		t.Errorf("db01.log marks %d power offs by alice, want 1 (the confirmed one):\n%s", n, log)
	}
	for _, a := range []string{"on", "reset", "cycle"} {
		if !strings.Contains(log, "power "+a+" by alice") {
			t.Errorf("db01.log lacks the mark of power %s by alice", a)
		}
	}
}

// waitBuffer waits until b contains want.
func waitBuffer(t *testing.T, b *testharness.Buffer, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %v in:\n%s", want, timeout, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
