package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// telnetConsoles writes a config of n telnet consoles, all reaching addr.
func telnetConsoles(t *testing.T, dir string, n int, addr string) string {
	t.Helper()
	k := newKey(t, "alice")
	var b strings.Builder
	fmt.Fprintf(&b, "log_dir = \"logs\"\nuser \"alice\" {\n  keys = [%q]\n}\n", k.Pub)
	for i := range n {
		fmt.Fprintf(&b, "console \"c%04d\" {\n  telnet { address = %q }\n}\n", i, addr)
	}
	path := filepath.Join(dir, "consoled.hcl")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// An open-file limit that cannot hold the configured consoles stops
// consoled at start with one message saying how many it needs, not with a
// failure per console.
func TestFileLimitTooLowSaysWhatItNeeds(t *testing.T) {
	need(t, "prlimit (util-linux)", have("prlimit"))
	dir := t.TempDir()
	path := telnetConsoles(t, dir, 1000, "127.0.0.1:9") // never dialed
	cmd := exec.Command("prlimit", "--nofile=300:300", "--", binary, "-config", path, "-listen", "127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("consoled under a limit of 300 for 1000 consoles: %v, want exit 1\n%s", err, out)
	}
	// 1000 connections + 64 logs + 256 reserve at least; 2256 with every log open.
	want := "consoled: the open-file limit (ulimit -n) is 300, too low for 1000 consoles: they need at least 1320 open files"
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "raise the limit to 2256") {
		t.Errorf("output does not say what is needed:\n%s", out)
	}
	if lines := strings.Count(strings.TrimSpace(string(out)), "\n") + 1; lines != 1 || strings.Contains(string(out), "too many open files") {
		t.Errorf("%d lines of output, want the one message:\n%s", lines, out)
	}
}

// Under a limit that holds every connection but not every log beside it,
// every console comes up and records, and consoled holds no more than two
// descriptors per console.
func TestFileLimitHoldsConnectionsLogsTakeTurns(t *testing.T) {
	need(t, "prlimit (util-linux)", have("prlimit"))
	const n = 400
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	go func() {
		for k := 0; ; k++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { // a line now, another every 300 ms: every log is written
				for i := 0; ; i++ {
					if _, err := fmt.Fprintf(c, "machine %d line %d\r\n", k, i); err != nil {
						return
					}
					time.Sleep(300 * time.Millisecond)
				}
			}()
		}
	}()
	dir := t.TempDir()
	path := telnetConsoles(t, dir, n, ln.Addr().String())
	const limit = n + 256 + 100 // connections, reserve, and 100 logs: not 400
	d := runDaemon(t, dir, exec.Command("prlimit", fmt.Sprintf("--nofile=%d:%d", limit, limit), "--", binary, "-config", path, "-listen", "127.0.0.1:0"))
	d.waitStderr("not every console's log can stay open", 10*time.Second)
	logs := filepath.Join(dir, "logs")
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; i < n; {
		b, _ := os.ReadFile(filepath.Join(logs, fmt.Sprintf("c%04d.log", i)))
		if strings.Contains(string(b), " line 2\r\n") {
			i++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("c%04d has not recorded 3 lines within 60 s:\n%s\nconsoled:\n%s", i, b, d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if len(fds) > 2*n || len(fds) > limit {
		t.Errorf("consoled holds %d descriptors for %d consoles (limit %d), want at most 2 a console", len(fds), n, limit)
	}
	if strings.Contains(d.stderr.String(), "too many open files") {
		t.Errorf("consoled ran out of descriptors:\n%s", d.stderr)
	}
}

// A reload that adds more consoles than the open-file limit can hold is
// refused whole, with the same one message, and the running consoles stay.
func TestFileLimitRefusesReload(t *testing.T) {
	need(t, "prlimit (util-linux)", have("prlimit"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	dir := t.TempDir()
	path := telnetConsoles(t, dir, 10, ln.Addr().String())
	d := runDaemon(t, dir, exec.Command("prlimit", "--nofile=400:400", "--", binary, "-config", path, "-listen", "127.0.0.1:0"))
	k := newKey(t, "bob")
	cfg, _ := os.ReadFile(path)
	// Same consoles, one more user, and 190 more consoles: 200 connections
	// + 64 logs + 256 need 520 open files, the limit is 400.
	more := strings.Replace(string(cfg), "user \"alice\"", fmt.Sprintf("user \"bob\" {\n  keys = [%q]\n}\nuser \"alice\"", k.Pub), 1)
	for i := 10; i < 200; i++ {
		more += fmt.Sprintf("console \"c%04d\" {\n  telnet { address = %q }\n}\n", i, ln.Addr().String())
	}
	if err := os.WriteFile(path, []byte(more), 0o600); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitStderr("reload refused; the running configuration stays", 10*time.Second)
	d.waitStderr("too low for 200 consoles: they need at least 520 open files", time.Second)
	if _, err := os.Stat(filepath.Join(dir, "logs", "c0010.log")); err == nil {
		t.Error("a console of the refused reload was started")
	}
	// bob's key came with the refused reload: it does not log in.
	if _, _, code := d.ssh(k, "", "list"); code == 0 {
		t.Error("a user of the refused reload logged in")
	}
}
