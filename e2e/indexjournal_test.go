package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tickSource is a machine on a raw TCP port that prints, to every
// connection it is given (one after another, as consoled reconnects),
// "tick N at MS" every 10 ms, MS being when it printed it (Unix ms).
func tickSource(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			func() {
				defer wg.Done()
				defer c.Close()
				for tick := time.NewTicker(10 * time.Millisecond); ; n++ {
					select {
					case <-done:
						return
					case <-tick.C:
					}
					if _, err := fmt.Fprintf(c, "tick %d at %d\r\n", n, time.Now().UnixMilli()); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); close(done); wg.Wait() })
	return ln
}

var tickLine = regexp.MustCompile(`(?m)^tick (\d+) at (\d+)\r?$`)

// ticks are the tick lines of a text: number -> when printed.
func ticks(s string) map[int]time.Time {
	out := map[int]time.Time{}
	for _, m := range tickLine.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(m[1])
		ms, _ := strconv.ParseInt(m[2], 10, 64)
		out[n] = time.UnixMilli(ms)
	}
	return out
}

// The time index goes through a journal that consoled consolidates every
// 30 s: the last seconds before a kill -9 are in the journal only. They
// are found by `consoled logs -data DIR --since` on the directory the
// killed run left, and by `logs --since` over ssh once consoled runs
// again (it merges the journal at start): every line printed since then
// and in the log, and nothing printed well before. `consoled logs -data`
// on the directory of the consoled running reads its journal.
func TestKill9LastSecondsFoundBySince(t *testing.T) {
	alice := newKey(t, "alice")
	src := tickSource(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "consoled.hcl")
	os.WriteFile(cfg, []byte(userBlock("alice", alice)+fmt.Sprintf(`
console "ticker" {
  telnet { address = %q }
}
`, src.Addr().String())), 0o600)
	logs := filepath.Join(dir, "logs")
	logPath := filepath.Join(logs, "ticker.log")
	start := func() *daemon {
		d := runDaemon(t, dir, exec.Command(binary, "-config", cfg, "-listen", "127.0.0.1:0"))
		d.waitState(alice, "ticker", "up")
		return d
	}
	// runAndKill lets consoled record for 3.5 s, kills it, and returns the
	// second to query from (two seconds before the kill) and the kill's time.
	runAndKill := func(d *daemon) (time.Time, time.Time) {
		time.Sleep(3500 * time.Millisecond)
		kill := time.Now()
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.exited
		return kill.Add(-2 * time.Second).Truncate(time.Second), kill
	}
	// check compares what a --since query printed with the log: every
	// tick of the log printed from a second after since to the kill is
	// there, and none printed more than a second before since.
	check := func(how, out string, since, kill time.Time) {
		t.Helper()
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		inLog, got := ticks(string(b)), ticks(out)
		want := 0
		for n, at := range inLog {
			if at.Before(since.Add(time.Second)) || !at.Before(kill) {
				continue
			}
			want++
			if _, ok := got[n]; !ok {
				t.Errorf("%s: tick %d (printed %s, in the log) is missing", how, n, at.Format("15:04:05.000"))
			}
		}
		for n, at := range got {
			if at.Before(since.Add(-time.Second)) {
				t.Errorf("%s: tick %d printed at %s, before --since %s", how, n, at.Format("15:04:05.000"), since.Format("15:04:05"))
			}
		}
		if want < 10 {
			t.Errorf("%s: only %d ticks in the log's last second (the source prints 100 a second): nothing to check", how, want)
		}
		t.Logf("%s: %d lines since %s, %d of them required", how, len(got), since.Format("15:04:05"), want)
	}
	idxSeconds := func() int64 {
		st, err := os.Stat(logPath + ".idx")
		if err != nil {
			return 0
		}
		return st.Size() / 16
	}

	since, kill := runAndKill(start())
	before := idxSeconds()
	out, err := exec.Command(binary, "logs", "-data", logs, "ticker", "--since", since.UTC().Format(time.RFC3339)).CombinedOutput()
	if err != nil {
		t.Fatalf("consoled logs -data: %v\n%s", err, out)
	}
	check("offline after kill -9", string(out), since, kill)
	if after := idxSeconds(); after <= before {
		t.Errorf("the index had %d entries before the offline reader and %d after: the journal was not merged", before, after)
	}

	since, kill = runAndKill(start())
	before = idxSeconds()
	d := start()
	if after := idxSeconds(); after <= before {
		t.Errorf("the index had %d entries before the restart and %d after: the journal was not merged at start", before, after)
	}
	so, se, code := d.ssh(alice, "", "logs", "ticker", "--since", since.UTC().Format(time.RFC3339))
	if code != 0 {
		t.Fatalf("logs --since exited %d: %s", code, se)
	}
	check("ssh logs after kill -9 and restart", so, since, kill)

	// On the directory of the consoled that runs (it holds the journal),
	// the offline reader reads the journal: the last seconds, after what
	// the ssh query consolidated, are there too.
	time.Sleep(5 * time.Second)
	upTo := time.Now().Add(-time.Second) // printed before then: in the log by now
	since = upTo.Add(-2 * time.Second).Truncate(time.Second)
	before = idxSeconds()
	out, err = exec.Command(binary, "logs", "-data", logs, "ticker", "--since", since.UTC().Format(time.RFC3339)).CombinedOutput()
	if err != nil {
		t.Fatalf("consoled logs -data on a running consoled's directory: %v\n%s", err, out)
	}
	check("offline while consoled runs", string(out), since, upTo)
	if after := idxSeconds(); after != before {
		t.Errorf("the offline reader changed the index of a running consoled (%d entries, then %d)", before, after)
	}
}
