package logcmd

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2h":                   now.Add(-2 * time.Hour),
		"2026-11-23T03:00":     time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC),
		"2026-11-23T03:00:05Z": time.Date(2026, 11, 23, 3, 0, 5, 0, time.UTC),
		"2026-11-22":           time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC),
	} {
		if got, err := ParseTime(in, now); err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseTime("yesterday-ish", now); err == nil {
		t.Error("nonsense accepted")
	}
}

func TestParseLogs(t *testing.T) {
	name, q, err := ParseLogs([]string{"vm1", "--grep", "Kernel", "panic", "--context", "5", "--timestamps", "--since", "1m"}, time.Now())
	if err != nil || name != "vm1" || q.Grep.String() != "Kernel panic" || q.Context != 5 || !q.Timestamps || q.Since.IsZero() {
		t.Errorf("%q %+v %v", name, q, err)
	}
	if _, _, err := ParseLogs([]string{"a", "b"}, time.Now()); err == nil {
		t.Error("two consoles accepted")
	}
}
