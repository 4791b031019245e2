package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// guest is the qemu machine of ../shared/harness/qemu, booted once per test
// binary (boot takes about 6 s) with its ttyS0 on a telnet port.
type guest struct {
	Instance string
	Port     int    // telnet port
	Attach   string // where boot.sh says to attach: "127.0.0.1:PORT", "/dev/pts/N"
	Work     string
	err      error
}

var (
	guestMu sync.Mutex
	booted  []*guest
	guests  = map[string]*guest{} // by method
)

func harnessWork() string {
	if w := os.Getenv("HARNESS_WORK"); w != "" {
		return w
	}
	return "/tmp/consoled-harness"
}

// sharedGuest boots the telnet guest on first use. Tests that use it must
// not run in parallel with each other: the guest's telnet port serves one
// client.
func sharedGuest(t *testing.T) *guest { return bootGuest(t, "telnet") }

// bootGuest boots (once per test binary) a guest whose ttyS0 is reached by
// method: "telnet" (127.0.0.1:Port) or "pty" (the device in Attach).
func bootGuest(t *testing.T, method string) *guest {
	t.Helper()
	need(t, "qemu-system-x86_64", have("qemu-system-x86_64"))
	work := harnessWork()
	_, err := os.Stat(filepath.Join(work, "vmlinuz"))
	need(t, "the harness guest build (HARNESS_WORK="+work+" "+harness+"/qemu/build.sh)", err == nil)
	guestMu.Lock()
	defer guestMu.Unlock()
	if g, ok := guests[method]; ok {
		if g.err != nil {
			t.Fatal(g.err)
		}
		return g
	}
	g := &guest{Instance: fmt.Sprintf("consoled-e2e-%d-%s", os.Getpid(), method), Work: work}
	guests[method] = g
	booted = append(booted, g)
	cmd := exec.Command(filepath.Join(harness, "qemu", "boot.sh"), method, g.Instance)
	cmd.Env = append(os.Environ(), "HARNESS_WORK="+work)
	if method == "telnet" {
		g.Port = freePort(t)
		cmd.Env = append(cmd.Env, fmt.Sprintf("PORT=%d", g.Port))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.err = fmt.Errorf("boot.sh %s: %v\n%s", method, err, out)
		t.Fatal(g.err)
	}
	attach, _ := os.ReadFile(filepath.Join(work, "run", g.Instance, "attach"))
	if f := strings.Fields(string(attach)); len(f) == 2 {
		g.Attach = f[1]
	}
	return g
}

// privateGuest boots a telnet guest for one test and stops it when the
// test ends (for tests that crash the kernel: a panicked guest spins a core).
func privateGuest(t *testing.T) *guest {
	t.Helper()
	need(t, "qemu-system-x86_64", have("qemu-system-x86_64"))
	work := harnessWork()
	g := &guest{Instance: fmt.Sprintf("consoled-e2e-%d-%s", os.Getpid(), t.Name()), Work: work, Port: freePort(t)}
	cmd := exec.Command(filepath.Join(harness, "qemu", "boot.sh"), "telnet", g.Instance)
	cmd.Env = append(os.Environ(), "HARNESS_WORK="+work, fmt.Sprintf("PORT=%d", g.Port))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("boot.sh telnet: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		stop := exec.Command(filepath.Join(harness, "qemu", "stop.sh"), g.Instance)
		stop.Env = append(os.Environ(), "HARNESS_WORK="+work)
		stop.Run()
		os.RemoveAll(filepath.Join(work, "run", g.Instance))
	})
	return g
}

// SerialLog is everything the guest printed, as qemu recorded it.
func (g *guest) SerialLog() string {
	b, _ := os.ReadFile(filepath.Join(g.Work, "run", g.Instance, "serial.log"))
	return string(b)
}

func stopGuests() {
	guestMu.Lock()
	defer guestMu.Unlock()
	for _, g := range booted {
		if g.err != nil {
			continue
		}
		cmd := exec.Command(filepath.Join(harness, "qemu", "stop.sh"), g.Instance)
		cmd.Env = append(os.Environ(), "HARNESS_WORK="+g.Work)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping guest %s: %v\n%s", g.Instance, err, out)
		}
		os.RemoveAll(filepath.Join(g.Work, "run", g.Instance))
	}
}

func userBlock(name string, k key) string {
	return fmt.Sprintf("user %q {\n  keys = [%q]\n}\n", name, k.Pub)
}

func trimLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// startOnGuest runs consoled with console vm1 on guest g's telnet port
// (plus extra config) and waits for it to be up; alice may use it.
func startOnGuest(t *testing.T, g *guest, alice key, extra string) *daemon {
	t.Helper()
	d := startConsoled(t, userBlock("alice", alice)+extra+fmt.Sprintf(`
console "vm1" {
  telnet { address = "127.0.0.1:%d" }
}
`, g.Port))
	d.waitState(alice, "vm1", "up")
	return d
}
