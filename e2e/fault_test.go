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

// source is a machine on a raw TCP port that prints numbered lines at about
// 12 KB/s (a 115200-baud line) to whoever connects, and remembers every
// byte it sent.
type source struct {
	ln   net.Listener
	mu   sync.Mutex
	sent bytes.Buffer
	done chan struct{}
}

func newSource(t *testing.T) *source {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &source{ln: ln, done: make(chan struct{})}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; {
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
			var chunk bytes.Buffer
			for j := 0; j < 4; j++ {
				fmt.Fprintf(&chunk, "src-%07d the machine keeps talking\r\n", i)
				i++
			}
			if _, err := c.Write(chunk.Bytes()); err != nil {
				return
			}
			s.mu.Lock()
			s.sent.Write(chunk.Bytes())
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *source) stop() []byte {
	close(s.done)
	time.Sleep(100 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.sent.Bytes()...)
}

func countFDs(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents)
}

// Hundreds of SSH sessions attach and detach for 30 s while the console
// prints: afterwards fds and threads are back near the baseline and the
// log holds every byte the machine sent.
func TestAttachDetachChurn(t *testing.T) {
	t.Parallel()
	src := newSource(t)
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
					for !bytes.Contains(got, []byte("src-")) {
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
				if !bytes.Contains(got, []byte("src-")) {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	sent := src.stop()
	t.Logf("%d sessions, %d without output", sessions.Load(), failures.Load())
	if sessions.Load() < 200 {
		t.Errorf("only %d sessions in 30 s", sessions.Load())
	}
	if failures.Load() > sessions.Load()/20 {
		t.Errorf("%d of %d sessions failed", failures.Load(), sessions.Load())
	}
	time.Sleep(2 * time.Second)
	if fds := countFDs(d.cmd.Process.Pid); fds > fds0+3 {
		t.Errorf("fds: %d before, %d after", fds0, fds)
	}
	if g := goroutines(t, d); g > gor0+10 {
		t.Errorf("goroutines: %d before, %d after", gor0, g)
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
// and backs off instead of hammering it.
func TestFlappingBackend(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepts atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := accepts.Add(1)
			go func() {
				fmt.Fprintf(c, "hello %d\r\n", n)
				time.Sleep(time.Second)
				c.Close()
			}()
		}
	}()
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf(`
console "flaky" {
  telnet { address = %q }
}
`, ln.Addr().String()))
	time.Sleep(30 * time.Second)
	n := accepts.Load()
	if n < 3 || n > 8 {
		t.Errorf("%d connections in 30 s: backoff (1 s, 2 s, 4 s, ...) should allow 4 to 6", n)
	}
	if out, _, code := d.ssh(alice, "", "list"); code != 0 || !strings.HasPrefix(out, "flaky ") {
		t.Errorf("consoled unwell: %d %q", code, out)
	}
	log, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "flaky.log"))
	ups, downs := strings.Count(string(log), "console up"), strings.Count(string(log), "console down: ")
	if int64(ups) != n || downs < ups-1 {
		t.Errorf("%d connections, %d up marks, %d down marks:\n%s", n, ups, downs, log)
	}
	for i := int64(1); i <= n; i++ {
		if !strings.Contains(string(log), fmt.Sprintf("hello %d\r\n", i)) {
			t.Errorf("connection %d's output missing", i)
		}
	}
}

func httpGoroutines(t *testing.T, addr string) int {
	resp, err := httpGet("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	return parseGoroutines(resp)
}
