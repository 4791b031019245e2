package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"consoled/internal/testharness"
)

// startIPMITool runs `ipmitool sol activate` on bmc in a pty, as an admin
// runs it, and returns what it shows; the test's cleanup kills it. It
// returns once the SOL session is operational.
func startIPMITool(t *testing.T, bmc *testharness.BMC) *testharness.Buffer {
	t.Helper()
	need(t, "ipmitool", have("ipmitool"))
	tool := exec.Command("ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", fmt.Sprint(bmc.Port),
		"-U", bmc.User, "-P", bmc.Pass, "-C", "3", "sol", "activate")
	ptmx, err := pty.Start(tool)
	if err != nil {
		t.Fatal(err)
	}
	out := &testharness.Buffer{}
	exited := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				break
			}
		}
		tool.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		tool.Process.Kill()
		<-exited
		ptmx.Close()
	})
	waitBuffer(t, out, "SOL Session operational", 15*time.Second)
	return out
}

// A consoled that dies (kill -9) holding a console's SOL session gets it
// back at once when it starts again, without steal = true: its log says
// the console was up and never down, so the session the BMC still holds is
// the previous run's, and the first connect takes it back and marks that.
// Before, the BMC refused the new run ("already active") until it timed
// the dead session out, 20–40 s, and what the machine printed meanwhile
// was lost. After a clean stop nothing is taken: an admin's ipmitool
// session opened then keeps the console.
func TestIPMITakeBackAfterKill9(t *testing.T) {
	bmc := testharness.StartBMC(t)
	host := bmc.HostSerial()
	alice := newKey(t, "alice")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "consoled.hcl")
	os.WriteFile(cfg, []byte(userBlock("alice", alice)+ipmiConsole("db01", bmc, "")), 0o600)
	logPath := filepath.Join(dir, "logs", "db01.log")
	start := func() *daemon {
		return runDaemon(t, dir, exec.Command(binary, "-config", cfg, "-listen", "127.0.0.1:0"))
	}

	// The machine prints a numbered line every 250 ms throughout.
	var printed atomic.Int64 // ticks printed so far
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tk := time.NewTicker(250 * time.Millisecond)
		defer tk.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(host, "tick %d\r\n", i)
			printed.Store(int64(i + 1))
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-stopped })

	d := start()
	d.waitState(alice, "db01", "up")
	testharness.ReadFileUntil(t, logPath, fmt.Sprintf("tick %d\r\n", printed.Load()+1), 20*time.Second)
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited

	restart := time.Now()
	d = start()
	// Up again within seconds: the BMC keeps the dead session for 20 s or
	// more, so a console that waited for that would not make it.
	const bound = 12 * time.Second
	up := regexp.MustCompile(`(?m)^\[-- consoled: console up [^\n]*--\]$`)
	for {
		b, _ := os.ReadFile(logPath)
		if len(up.FindAllIndex(b, -1)) == 2 {
			break
		}
		if time.Since(restart) > bound {
			out, _, _ := d.ssh(alice, "", "list")
			t.Fatalf("db01 not up again %v after the restart; list:\n%s\nlog:\n%s", bound, out, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("db01 up again %v after the restart", time.Since(restart).Round(10*time.Millisecond))
	from := printed.Load() // printed after the restart's connect
	want := fmt.Sprintf("tick %d\r\n", from+8)
	log := testharness.ReadFileUntil(t, logPath, want, 20*time.Second)

	ups := up.FindAllStringIndex(log, -1)
	second := log[ups[1][0]:]
	takeBack := regexp.MustCompile(`(?m)^\[-- consoled: took back the SOL session left by consoled's previous run [^\n]*--\]$`)
	if m := takeBack.FindAllStringIndex(log, -1); len(m) != 1 || m[0][0] < ups[0][1] || m[0][0] > ups[1][0] {
		t.Errorf("want one take-back mark, just before the second console up:\n%s", log)
	}
	if strings.Contains(log, "already active") || strings.Contains(log, "console down") {
		t.Errorf("the restarted consoled was refused the SOL session or went down:\n%s", log)
	}
	// Every tick printed after the connect is there, in order.
	found := regexp.MustCompile(`tick (\d+)\r\n`).FindAllStringSubmatch(second, -1)
	next := from
	for _, m := range found {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		if n < from {
			continue
		}
		if n != next {
			t.Errorf("after the restart tick %d follows tick %d", n, next-1)
		}
		next = n + 1
	}
	if next < from+9 {
		t.Errorf("ticks %d to %d are not all after the second console up:\n%s", from, from+8, second)
	}

	// A clean stop marks the console down: the next start takes nothing,
	// and an admin's session opened in between stays the admin's.
	d.Stop()
	tool := startIPMITool(t, bmc)
	d = start()
	d.waitList(alice, "db01", "down", "already active on another session")
	waitBuffer(t, tool, fmt.Sprintf("tick %d\r", printed.Load()+2), 10*time.Second)
	b, _ := os.ReadFile(logPath)
	if n := len(takeBack.FindAllIndex(b, -1)); n != 1 {
		t.Errorf("%d take-back marks after a clean stop and restart, want still 1:\n%s", n, b)
	}
}
