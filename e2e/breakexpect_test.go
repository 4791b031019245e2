package e2e

import (
	"strings"
	"testing"
	"time"
)

// break --wait has a maximum (10 min), refused at once beyond it; --expect
// still finds its text after far more output than the window it searches
// (the last 64 KiB).
func TestBreakWaitBounds(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+`
console "sh1" {
  exec { command = ["/bin/sh", "-c", "PS1='sh1$ ' exec /bin/sh -i"] }
}
break "5" {
  sequence = "seq 1 40000; echo end-$((40+2))\r"
}
`)
	d.waitState(alice, "sh1", "up")
	start := time.Now()
	_, errOut, code := d.ssh(alice, "", "break", "sh1", "--expect", "never", "--wait", "11m")
	if code != 2 || !strings.Contains(errOut, `--wait "11m": at most 10m0s`) {
		t.Errorf("break --wait 11m: exit %d, stderr %q; want 2 and the maximum", code, errOut)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("the refusal took %v", el)
	}
	out, errOut, code := d.ssh(alice, "", "break", "sh1", "--seq", "5", "--expect", "end-42", "--wait", "30s")
	if code != 0 || !strings.Contains(out, "\n40000\r\nend-42") {
		t.Errorf("break --expect after %d bytes of output: exit %d, stderr %q, the output ends %q", len(out), code, errOut, out[max(0, len(out)-200):])
	}
	if len(out) < 200<<10 {
		t.Errorf("only %d bytes of output before the match; the test wants more than the 64 KiB window", len(out))
	}
}
