package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// soakDuration is how long TestIPMISoak runs: CONSOLED_SOAK (a Go
// duration; test.sh sets 3m), one hour when unset.
func soakDuration(t *testing.T) time.Duration {
	t.Helper()
	s := os.Getenv("CONSOLED_SOAK")
	if s == "" {
		return time.Hour
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 10*time.Second {
		t.Fatalf("CONSOLED_SOAK=%q: want a duration of at least 10s, such as 3m", s)
	}
	return d
}

// soakAsked reports whether the environment asks for the soak whatever
// the flags: CONSOLED_E2E=1 (every test must run) with CONSOLED_SOAK set.
func soakAsked() bool {
	return os.Getenv("CONSOLED_E2E") == "1" && os.Getenv("CONSOLED_SOAK") != ""
}

// ipmiConsole is the config block of an ipmi console on bmc; extra goes
// inside its ipmi block.
func ipmiConsole(name string, bmc *testharness.BMC, extra string) string {
	return fmt.Sprintf(`
console %q {
  ipmi {
    address  = %q
    user     = %q
    password = %q
    %s
  }
}
`, name, bmc.Addr, bmc.User, bmc.Pass, extra)
}

// An IPMI console stays up against ipmi_sim for as long as the soak runs
// (an hour, or CONSOLED_SOAK) and loses nothing: the machine prints a
// numbered line every 250 ms, and every one is in the console's log exactly
// once, in order, with no "console down" between them. Nobody is attached
// for the first half (the idle read path), an ssh session for the second.
// ipmi_sim closes a session that sends it no IPMI message for 30 s, SOL
// packets not counted: consoled dropped every ~37 s and lost about 17 s of
// output each time.
func TestIPMISoak(t *testing.T) {
	if testing.Short() && !soakAsked() {
		t.Skip("soak test; skipped with -short unless CONSOLED_E2E=1 and CONSOLED_SOAK ask for it")
	}
	soak := soakDuration(t)
	if dl, ok := t.Deadline(); ok && time.Until(dl) < soak+2*time.Minute {
		t.Fatalf("the soak runs %v but go test's -timeout leaves %v: set CONSOLED_SOAK shorter (e.g. 3m) or -timeout longer",
			soak, time.Until(dl).Round(time.Second))
	}
	bmc := testharness.StartBMC(t)
	host := bmc.HostSerial()
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+ipmiConsole("db01", bmc, ""))
	d.waitState(alice, "db01", "up")

	const every = 250 * time.Millisecond
	ticks := int(soak / every)
	start := time.Now()
	writerDone := make(chan error, 1)
	go func() {
		tk := time.NewTicker(every)
		defer tk.Stop()
		for i := 0; i < ticks; i++ {
			if _, err := fmt.Fprintf(host, "tick %d\r\n", i); err != nil {
				writerDone <- fmt.Errorf("writing tick %d: %w", i, err)
				return
			}
			<-tk.C
		}
		writerDone <- nil
	}()

	time.Sleep(soak / 2) // the first half with nobody attached
	tm := d.interactive(alice, "console", "db01")
	tm.Expect(`attached to db01`, 20*time.Second)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	last := fmt.Sprintf("tick %d\r\n", ticks-1)
	tm.Expect(regexp.QuoteMeta(last), 30*time.Second)
	log := testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "db01.log"), last, 30*time.Second)
	t.Logf("%d ticks over %v", ticks, time.Since(start).Round(time.Second))

	if strings.Contains(log, "console down") {
		for _, l := range strings.Split(log, "\n") {
			if strings.Contains(l, "console down") {
				t.Errorf("the console went down during the soak: %s", strings.TrimSpace(l))
			}
		}
	}
	if n := strings.Count(log, "console up"); n != 1 {
		t.Errorf("console up marked %d times, want once", n)
	}
	// Every tick once, in order, each line whole.
	found := regexp.MustCompile(`tick (\d+)\r\n`).FindAllStringSubmatch(log, -1)
	if n := strings.Count(log, "tick "); n != len(found) {
		t.Errorf("%d tick lines are broken (\"tick \" %d times, whole lines %d)", n-len(found), n, len(found))
	}
	next, problems := 0, 0
	for _, m := range found {
		n, _ := strconv.Atoi(m[1])
		if n != next && problems < 10 {
			problems++
			if n > next {
				t.Errorf("ticks %d to %d are missing from the log", next, n-1)
			} else {
				t.Errorf("tick %d again after tick %d", n, next-1)
			}
		}
		next = n + 1
	}
	if len(found) != ticks || next != ticks {
		t.Errorf("the log has %d ticks, the last %d; the machine printed %d (0 to %d)", len(found), next-1, ticks, ticks-1)
	}
}
