package sshd

import (
	"strings"
	"testing"
	"time"
)

// --wait is bounded; the defaults are 10 s with --expect and 2 s without.
func TestParseBreakWait(t *testing.T) {
	for _, c := range []struct {
		args []string
		wait time.Duration
		err  string
	}{
		{[]string{"vm1", "t", "--expect", "Show State"}, 10 * time.Second, ""},
		{[]string{"vm1"}, 2 * time.Second, ""},
		{[]string{"vm1", "--wait", "10m"}, 10 * time.Minute, ""},
		{[]string{"vm1", "--wait", "10m1s"}, 0, `--wait "10m1s": at most 10m0s`},
		{[]string{"vm1", "--expect", "x", "--wait", "24h"}, 0, `--wait "24h": at most 10m0s`},
		{[]string{"vm1", "--wait", "0s"}, 0, "want a duration"},
	} {
		b, err := parseBreak(c.args)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.args, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: error %v, want %q", c.args, err, c.err)
		case c.err == "" && b.wait != c.wait:
			t.Errorf("%q: wait %v, want %v", c.args, b.wait, c.wait)
		}
	}
}
