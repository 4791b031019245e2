package sshd

import (
	"strings"
	"testing"
)

func TestTarget(t *testing.T) {
	for _, tc := range []struct {
		line, want string
	}{
		{"vm1", "vm1"},
		{"vm1 --force", "vm1"},
		{"attach vm1 --spy", "vm1"},
		{"console vm1", "vm1"},
		{"power db01 status", "db01"},
		{"power --yes db01 cycle", "db01"},
		{"who vm1", "vm1"},
		{"break vm1 h --expect HELP", "vm1"},
		{"break --seq 2 vm1", "vm1"},
		{"send -n --force vm1 echo hi", "vm1"},
		{"send vm1 --force", "vm1"},
		{"logs vm1 --tail 5", "vm1"},
		{"logs --since 2h vm1", "vm1"},
		{"power db01 cycle --pxe --yes", "db01"},
		{"bootdev db01 pxe --persistent", "db01"},
		{"sel --clear db01", "db01"},
		{"web", ""},
		{"list", ""}, {"list --json", ""}, {"panics", ""}, {"reload", ""}, {"help", ""},
		{"power web* status", ""}, // a set: this gateway's consoles
		{"attach", ""},
	} {
		if got := target(strings.Fields(tc.line)); got != tc.want {
			t.Errorf("target(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestMergeStamped(t *testing.T) {
	gw1 := "2026-11-30T03:00:01Z before\n2026-11-30T03:00:02Z..03:00:05Z long line\n--\n2026-11-30T03:00:09Z [-- consoled: console down: gone 2026-11-30T03:00:09Z --]\n"
	gw2 := "2026-11-30T03:00:20Z [-- consoled: held by gateway gw2: taken over from gw1, which left the cluster 2026-11-30T03:00:20Z --]\n2026-11-30T03:00:04Z..2026-12-01T00:00:00Z next day\n"
	lines := append(splitStamped([]byte(gw2), 1), splitStamped([]byte(gw1), 0)...)
	sortStamped(lines)
	var bodies []string
	for _, l := range lines {
		bodies = append(bodies, l.body)
	}
	got := strings.Join(bodies, "|")
	want := "before|long line|--|[-- consoled: console down: gone 2026-11-30T03:00:09Z --]|[-- consoled: held by gateway gw2: taken over from gw1, which left the cluster 2026-11-30T03:00:20Z --]|next day"
	if got != want {
		t.Errorf("merged:\n%s\nwant:\n%s", got, want)
	}
	if _, ok := stampEnd("not-a-time"); ok {
		t.Error("stampEnd took a line without a stamp")
	}
}
