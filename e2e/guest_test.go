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
	Port     int
	Work     string
	err      error
}

var (
	guestOnce sync.Once
	theGuest  *guest
	guestMu   sync.Mutex
	booted    []*guest
)

func harnessWork() string {
	if w := os.Getenv("HARNESS_WORK"); w != "" {
		return w
	}
	return "/tmp/consoled-harness"
}

// sharedGuest boots the guest on first use. Tests that use it must not run
// in parallel with each other: the guest's telnet port serves one client.
func sharedGuest(t *testing.T) *guest {
	t.Helper()
	need(t, "qemu-system-x86_64", have("qemu-system-x86_64"))
	work := harnessWork()
	_, err := os.Stat(filepath.Join(work, "vmlinuz"))
	need(t, "the harness guest build (HARNESS_WORK="+work+" "+harness+"/qemu/build.sh)", err == nil)
	guestOnce.Do(func() {
		g := &guest{Instance: fmt.Sprintf("consoled-e2e-%d", os.Getpid()), Port: freePort(t), Work: work}
		cmd := exec.Command(filepath.Join(harness, "qemu", "boot.sh"), "telnet", g.Instance)
		cmd.Env = append(os.Environ(), "HARNESS_WORK="+work, fmt.Sprintf("PORT=%d", g.Port))
		out, err := cmd.CombinedOutput()
		guestMu.Lock()
		booted = append(booted, g)
		guestMu.Unlock()
		if err != nil {
			g.err = fmt.Errorf("boot.sh telnet: %v\n%s", err, out)
		}
		theGuest = g
	})
	if theGuest.err != nil {
		t.Fatal(theGuest.err)
	}
	return theGuest
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
