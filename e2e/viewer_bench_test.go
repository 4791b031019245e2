package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkViewerCPU compares what a web viewer costs consoled with what an
// SSH viewer costs, at the same output rate: one console printing
// realistic text at benchRate, watched by benchViewers viewers of one kind
// (real OpenSSH clients in ssh -tt, or WebSockets as a browser opens them);
// the metric is consoled's CPU (from /proc, a build without -race) per
// viewer per second, over what the console costs with nobody watching.
//
//	go test -run '^$' -bench ViewerCPU -benchtime 10x ./e2e/
func BenchmarkViewerCPU(b *testing.B) {
	const benchRate, benchViewers = 256 << 10, 10
	bin := filepath.Join(b.TempDir(), "consoled")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/consoled").CombinedOutput(); err != nil {
		b.Fatalf("building consoled: %v\n%s", err, out)
	}
	src, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	go printAt(src, benchRate)
	alice := benchKey(b)
	dir := b.TempDir()
	cfg := userBlock("alice", alice) + fmt.Sprintf("web {\n  listen = \"127.0.0.1:0\"\n}\nconsole \"c1\" {\n  telnet { address = %q }\n}\n", src.Addr().String())
	os.WriteFile(filepath.Join(dir, "consoled.hcl"), []byte(cfg), 0o600)
	cmd := exec.Command(bin, "-config", filepath.Join(dir, "consoled.hcl"), "-listen", "127.0.0.1:0")
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sshPort, webBase := benchPorts(b, stderr)
	time.Sleep(2 * time.Second) // connected, warmed up
	idle := cpuPerSecond(b, cmd.Process.Pid, 3*time.Second)

	var received atomic.Int64 // by the viewers: they do get the stream
	run := func(b *testing.B, attach func(ctx context.Context) error) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		received.Store(0)
		for range benchViewers {
			if err := attach(ctx); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(time.Second)
		b.ResetTimer()
		var total time.Duration
		got, t0 := received.Load(), time.Now()
		for range b.N {
			total += cpuPerSecond(b, cmd.Process.Pid, time.Second)
		}
		rate := float64(received.Load()-got) / time.Since(t0).Seconds() / benchViewers
		if rate < benchRate/2 {
			b.Fatalf("the viewers received %.0f B/s each, the console prints %d", rate, benchRate)
		}
		b.ReportMetric(rate/1024, "recv-KiB/s/viewer")
		perViewer := (total/time.Duration(b.N) - idle) / benchViewers
		b.ReportMetric(float64(perViewer.Microseconds())/1000, "consoled-cpu-ms/s/viewer")
		b.ReportMetric(float64(idle.Microseconds())/1000, "idle-cpu-ms/s")
	}
	b.Run("ssh", func(b *testing.B) {
		run(b, func(ctx context.Context) error {
			c := exec.CommandContext(ctx, "ssh", "-F", "/dev/null", "-p", strconv.Itoa(sshPort), "-i", alice.Path, "-tt",
				"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
				"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "console@127.0.0.1", "c1", "--spy")
			c.Stdout, c.Stderr = counter{&received}, io.Discard
			pr, pw := io.Pipe()
			c.Stdin = pr
			go func() { <-ctx.Done(); pw.Close() }()
			return c.Start()
		})
	})
	b.Run("web", func(b *testing.B) {
		cookie, csrf := benchLogin(b, alice, sshPort, webBase)
		run(b, func(ctx context.Context) error {
			h := http.Header{"Cookie": {"consoled_session=" + cookie}, "Origin": {webBase}}
			c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(webBase, "http")+"/ws/console/c1?spy=1&csrf="+csrf,
				&websocket.DialOptions{HTTPHeader: h})
			if err != nil {
				return err
			}
			go func() {
				for {
					_, p, err := c.Read(ctx)
					if err != nil {
						return
					}
					received.Add(int64(len(p)))
				}
			}()
			return nil
		})
	})
}

// counter counts what is written to it.
type counter struct{ n *atomic.Int64 }

func (c counter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

// printAt serves console text at rate bytes per second to whoever connects.
func printAt(ln net.Listener, rate int) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			go io.Copy(io.Discard, c)
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			var seq int
			for range tick.C {
				var chunk []byte
				for len(chunk) < rate/100 {
					seq++
					chunk = fmt.Appendf(chunk, "[%6d.%06d] \x1b[0;32m[  OK  ]\x1b[0m Started unit %d; eth0: NIC Link is Up 1000 Mbps Full Duplex\r\n", seq/1000, seq%1000000, seq)
				}
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}()
	}
}

// cpuPerSecond is consoled's CPU time per second of wall time over d.
func cpuPerSecond(b *testing.B, pid int, d time.Duration) time.Duration {
	start, t0 := procCPU(b, pid), time.Now()
	time.Sleep(d)
	return (procCPU(b, pid) - start) * time.Duration(time.Second) / time.Since(t0)
}

// procCPU is a process's user+system time from /proc (clock ticks of 10 ms).
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func benchKey(b *testing.B) key {
	p := filepath.Join(b.TempDir(), "k")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", p).CombinedOutput(); err != nil {
		b.Fatalf("ssh-keygen: %v %s", err, out)
	}
	pub, _ := os.ReadFile(p + ".pub")
	return key{Path: p, Pub: strings.TrimSpace(string(pub))}
}

// benchPorts reads consoled's ssh port and web URL from its log.
func benchPorts(b *testing.B, stderr io.Reader) (int, string) {
	var seen strings.Builder
	buf := make([]byte, 4096)
	sshRe := regexp.MustCompile(`msg="ssh listening" addr=127\.0\.0\.1:(\d+)`)
	webRe := regexp.MustCompile(`msg="web listening" addr=\S+ url=(\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		n, err := stderr.Read(buf)
		seen.Write(buf[:n])
		s, w := sshRe.FindStringSubmatch(seen.String()), webRe.FindStringSubmatch(seen.String())
		if s != nil && w != nil {
			go io.Copy(io.Discard, stderr)
			port, _ := strconv.Atoi(s[1])
			return port, w[1]
		}
		if err != nil {
			break
		}
	}
	b.Fatalf("consoled did not start:\n%s", seen.String())
	return 0, ""
}

// benchLogin gets a link with ssh and logs in: the session cookie and its
// CSRF token.
func benchLogin(b *testing.B, k key, port int, base string) (string, string) {
	out, err := exec.Command("ssh", "-F", "/dev/null", "-p", strconv.Itoa(port), "-i", k.Path, "-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"console@127.0.0.1", "web").Output()
	if err != nil {
		b.Fatalf("ssh web: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(strings.TrimSpace(string(out)))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	resp, err = client.Get(base + "/")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`<meta name="csrf" content="([^"]+)">`).FindSubmatch(page)
	if m == nil {
		b.Fatalf("no csrf token in:\n%s", page)
	}
	u, _ := resp.Request.URL.Parse("/")
	for _, c := range jar.Cookies(u) {
		if c.Name == "consoled_session" {
			return c.Value, string(m[1])
		}
	}
	b.Fatal("no session cookie")
	return "", ""
}
