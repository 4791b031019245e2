package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// A console over IPMI SOL against a real BMC (ipmi_sim), through the real
// ssh client: bytes both ways, power from the command line and from the
// console, and a BMC restart that the console survives by itself.
func TestIPMIConsole(t *testing.T) {
	bmc := testharness.StartBMC(t)
	host := bmc.HostSerial()
	alice := newKey(t, "alice")
	pwDir := t.TempDir()
	pw := filepath.Join(pwDir, "db01.pw")
	os.WriteFile(pw, []byte(bmc.Pass+"\n"), 0o600)
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf(`
console "db01" {
  ipmi {
    address       = %q
    user          = %q
    password_file = %q
  }
}
console "badpw" {
  ipmi {
    address  = %q
    user     = %q
    password = "wrong"
  }
}
`, bmc.Addr, bmc.User, pw, bmc.Addr, bmc.User))
	d.waitState(alice, "db01", "up")

	tm := d.interactive(alice, "console", "db01")
	tm.Expect(`attached to db01 read-write`, 10*time.Second)
	host.Write([]byte("\r\ndb01 login: "))
	tm.Expect(`db01 login: `, 10*time.Second)
	tm.Send("root\r")
	got := make([]byte, 0, 16)
	buf := make([]byte, 64)
	host.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !strings.Contains(string(got), "root\r") {
		n, err := host.Read(buf)
		if err != nil {
			t.Fatalf("host side got %q: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}

	// A 4 KiB paste from a script session (taking write access) reaches the
	// host intact and in order.
	var paste strings.Builder
	for i := 0; paste.Len() < 4096; i++ {
		fmt.Fprintf(&paste, "paste line %04d\n", i)
	}
	want := paste.String()[:4096]
	if _, errOut, code := d.ssh(alice, want, "db01", "--force"); code != 0 {
		t.Fatalf("paste: %d %q", code, errOut)
	}
	got = got[:0]
	host.SetReadDeadline(time.Now().Add(20 * time.Second))
	for len(got) < len(want) {
		n, err := host.Read(buf)
		if err != nil {
			t.Fatalf("host side got %d of %d pasted bytes: %v", len(got), len(want), err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != want {
		t.Fatalf("paste arrived altered")
	}
	tm.Expect(`write access taken over by alice`, 5*time.Second)
	tm.Send("\x05ca")
	tm.Expect(`attached read-write`, 5*time.Second)

	// Power from the console: status at once, cycle only after a yes.
	tm.Send("\x05c!s")
	tm.Expect(`db01: power is on`, 15*time.Second)
	tm.Send("\x05c!c")
	tm.Expect(`power cycle db01\? \[y/N\] `, 5*time.Second)
	tm.Send("n")
	tm.Expect(`power cycle cancelled`, 5*time.Second)

	// Power from a script.
	os.WriteFile(bmc.Env["POWER_LOG"], nil, 0o644)
	out, errOut, code := d.ssh(alice, "", "power", "db01", "cycle")
	if code != 0 || !strings.Contains(out, "db01: power cycle: done") {
		t.Fatalf("power cycle: %d %q %q", code, out, errOut)
	}
	tm.Expect(`power cycle by alice: power cycle: done`, 5*time.Second)
	bmc.WaitPowerCycle(t, 10*time.Second)
	if out, _, code := d.ssh(alice, "", "power", "db01", "status"); code != 0 || out != "db01: power is on\n" {
		t.Errorf("status: %d %q", code, out)
	}
	if _, errOut, code := d.ssh(alice, "", "power", "db01", "explode"); code != 2 || !strings.Contains(errOut, "usage: power NAME") {
		t.Errorf("bad action: %d %q", code, errOut)
	}

	// A wrong password: a clear reason in list, marked once, no retry storm.
	// Each retry (at about 1 s and 3 s) is seen as list's "since" of the
	// down state moving on (down, connecting, down again): after two, the
	// failure is still marked once.
	d.waitList(alice, "badpw", "down", "logging in to BMC "+bmc.Addr+" as admin: wrong password")
	since := func() time.Time {
		out, _, _ := d.ssh(alice, "", "list", "--json", "badpw")
		var rows []struct {
			State string    `json:"state"`
			Since time.Time `json:"since"`
		}
		if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
			t.Fatalf("list --json badpw: %v %q", err, out)
		}
		if rows[0].State != "down" {
			return time.Time{} // connecting: the retry is seen when it is down again
		}
		return rows[0].Since
	}
	seen := since()
	for retries, deadline := 0, time.Now().Add(30*time.Second); retries < 2; {
		if now := since(); now.After(seen) {
			if !seen.IsZero() {
				retries++
			}
			seen = now
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("badpw: %d retries seen in 30 s, want 2", retries)
		}
		time.Sleep(100 * time.Millisecond)
	}
	badLog, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "badpw.log"))
	if n := strings.Count(string(badLog), "connect failed"); n != 1 {
		t.Errorf("wrong password marked %d times:\n%s", n, badLog)
	}

	// The BMC goes away and comes back: the console reconnects by itself.
	bmc.Stop()
	tm.Expect(`console down: `, 40*time.Second)
	bmc.Start()
	tm.Expect(`console up`, 60*time.Second)
	host = bmc.HostSerial()
	host.Write([]byte("back again\r\n"))
	tm.Expect(`back again`, 10*time.Second)

	log := testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "db01.log"), "back again", 5*time.Second)
	for _, want := range []string{"db01 login: ", "power cycle by alice", "console down: ", "console up"} {
		if !strings.Contains(log, want) {
			t.Errorf("db01.log lacks %q", want)
		}
	}

}
