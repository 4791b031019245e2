package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func countFDs(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents)
}

// Hundreds of SSH sessions attach and detach for 30 s while the console
// prints: afterwards fds and threads are back near the baseline and the
// log holds every byte the machine sent.
func TestAttachDetachChurn(t *testing.T) {
	t.Parallel()
	src := newLineSource(t, 4)
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+`metrics_listen = "127.0.0.1:0"`+"\n"+fmt.Sprintf(`
console "busy" {
  telnet { address = %q }
}
`, src.ln.Addr().String()))
	d.waitState(alice, "busy", "up")
	d.waitStderr("metrics listening", 5*time.Second)
	time.Sleep(time.Second)
	fds0 := countFDs(d.cmd.Process.Pid)
	gor0 := goroutines(t, d)

	var sessions atomic.Int64
	var failures atomic.Int64
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	for w := 0; w < 12; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && sessions.Load() < 400 {
				// attach, see output, go away (the client is killed, as a
				// closed laptop lid would)
				cmd := exec.Command("ssh", append(d.sshArgs(alice, "console", "-o", "ConnectTimeout=20"), "busy", "--spy")...)
				stdout, _ := cmd.StdoutPipe()
				stdin, _ := cmd.StdinPipe()
				if err := cmd.Start(); err != nil {
					failures.Add(1)
					continue
				}
				buf := make([]byte, 4096)
				var got []byte
				readDone := make(chan struct{})
				go func() {
					defer close(readDone)
					for !bytes.Contains(got, []byte("line-")) {
						n, err := stdout.Read(buf)
						got = append(got, buf[:n]...)
						if err != nil {
							return
						}
					}
				}()
				select {
				case <-readDone:
				case <-time.After(20 * time.Second):
				}
				cmd.Process.Kill()
				cmd.Wait()
				stdin.Close()
				<-readDone
				sessions.Add(1)
				if !bytes.Contains(got, []byte("line-")) {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	src.stop()
	sent := src.bytes()
	t.Logf("%d sessions, %d without output", sessions.Load(), failures.Load())
	if sessions.Load() < 200 {
		t.Errorf("only %d sessions in 30 s", sessions.Load())
	}
	if failures.Load() > sessions.Load()/20 {
		t.Errorf("%d of %d sessions failed", failures.Load(), sessions.Load())
	}
	// The sessions' descriptors and goroutines go as their connections
	// close (the last ones within moments of the churn).
	deadline = time.Now().Add(20 * time.Second)
	for {
		fds, g := countFDs(d.cmd.Process.Pid), goroutines(t, d)
		if fds <= fds0+3 && g <= gor0+10 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("20 s after the churn: fds %d before, %d after; goroutines %d before, %d after", fds0, fds, gor0, g)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	logPath := filepath.Join(d.Dir, "logs", "busy.log")
	deadline = time.Now().Add(10 * time.Second)
	for {
		log, _ := os.ReadFile(logPath)
		data := markLine.ReplaceAllString(string(log), "")
		if data == string(sent) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("busy.log (%d bytes without marks) is not exactly the %d bytes the machine sent", len(data), len(sent))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// goroutines reads go_goroutines from the metrics endpoint.
func goroutines(t *testing.T, d *daemon) int {
	t.Helper()
	e := d.stderr.String()
	const key = `msg="metrics listening" addr=`
	addr := strings.SplitN(e[strings.Index(e, key)+len(key):], "\n", 2)[0]
	return httpGoroutines(t, addr)
}

func parseGoroutines(body string) int {
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "go_goroutines ") {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(l, "go_goroutines ")))
			return n
		}
	}
	return -1
}

// A backend that drops every second: consoled stays up, marks every gap,
// and backs off instead of hammering it: each reconnection waits at least
// the connection's second plus 0.8 of a delay that doubles (1 s, 2 s, 4 s,
// ...; jittered over [0.8, 1.2)).
func TestFlappingBackend(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var accepted []time.Time
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, time.Now())
			n := len(accepted)
			mu.Unlock()
			go func() {
				fmt.Fprintf(c, "hello %d\r\n", n)
				time.Sleep(time.Second)
				c.Close()
			}()
		}
	}()
	accepts := func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Time(nil), accepted...)
	}
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf(`
console "flaky" {
  telnet { address = %q }
}
`, ln.Addr().String()))

	// Five connections: four waits of 1 s + 1, 2, 4 and 8 s (x0.8..1.2).
	const want = 5
	deadline := time.Now().Add(90 * time.Second)
	for len(accepts()) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections in 90 s, want %d", len(accepts()), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	at := accepts()
	for i := 1; i < want; i++ {
		delay := time.Duration(1<<(i-1)) * time.Second
		if gap, least := at[i].Sub(at[i-1]), time.Second+delay*8/10-50*time.Millisecond; gap < least {
			t.Errorf("connection %d came %v after the one before, want at least %v (backoff %v)", i+1, gap, least, delay)
		}
	}
	if out, _, code := d.ssh(alice, "", "list"); code != 0 || !strings.HasPrefix(out, "flaky ") {
		t.Errorf("consoled unwell: %d %q", code, out)
	}
	// Every connection is marked up, every drop down, with its output.
	deadline = time.Now().Add(30 * time.Second)
	for {
		n := len(accepts())
		log, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "flaky.log"))
		ups, downs := strings.Count(string(log), "console up"), strings.Count(string(log), "console down: ")
		missing := ""
		for i := 1; i <= n; i++ {
			if !strings.Contains(string(log), fmt.Sprintf("hello %d\r\n", i)) {
				missing = fmt.Sprintf("connection %d's output", i)
				break
			}
		}
		if ups == n && downs >= ups-1 && missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections, %d up marks, %d down marks, missing %q:\n%s", n, ups, downs, missing, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpGoroutines(t *testing.T, addr string) int {
	resp, err := httpGet("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	return parseGoroutines(resp)
}
