package panics

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDetectorOneEventPerCrash(t *testing.T) {
	var evs []Event
	clock := time.Date(2026, 11, 23, 3, 12, 0, 0, time.UTC)
	d := NewDetector("web07", []*regexp.Regexp{regexp.MustCompile(`MCE: \d+ errors`)}, func(e Event) { evs = append(evs, e) })
	d.now = func() time.Time { return clock }
	crash := "[  101.5] sysrq: Trigger a crash\r\n[  101.5] Kernel panic - not syncing: sysrq triggered crash\r\n" +
		"CPU: 0 PID: 1 Comm: sh\r\nCall Trace:\r\n <TASK>\r\n dump_stack_lvl+0x44/0x5c\r\n---[ end Kernel panic ]---\r\n"
	for i := 0; i < len(crash); i += 7 { // split across reads anywhere
		d.Observe([]byte(crash[i:min(i+7, len(crash))]))
	}
	if len(evs) != 1 || evs[0].Headline != "Kernel panic - not syncing: sysrq triggered crash" || evs[0].Console != "web07" {
		t.Fatalf("events %+v", evs)
	}
	clock = clock.Add(time.Minute) // a later, separate crash
	d.Observe([]byte("BUG: unable to handle page fault\r\nOops: 0000 [#1]\r\n"))
	d.Observe([]byte("ordinary output\r\nMCE: 3 errors\n"))
	clock = clock.Add(time.Hour)
	d.Observe([]byte("MCE: 12 errors\n"))
	if len(evs) != 3 || evs[1].Headline != "BUG: unable to handle page fault" || evs[2].Headline != "MCE: 12 errors" {
		t.Fatalf("events %+v", evs)
	}
}

func TestStore(t *testing.T) {
	s := NewStore(filepath.Join(t.TempDir(), "panics.jsonl"))
	t0 := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	s.Add(Event{Console: "a", Time: t0, Headline: "one"})
	s.Add(Event{Console: "b", Time: t0.Add(time.Hour), Headline: "two"})
	s.Add(Event{Console: "a", Time: t0.Add(2 * time.Hour), Headline: "three"})
	evs, err := s.List(t0.Add(time.Minute), nil)
	if err != nil || len(evs) != 2 || evs[0].Headline != "three" || evs[1].Headline != "two" {
		t.Errorf("since: %+v %v", evs, err)
	}
	evs, _ = s.List(time.Time{}, []string{"a"})
	if len(evs) != 2 || evs[0].Headline != "three" {
		t.Errorf("by console: %+v", evs)
	}
}

func BenchmarkObserve(b *testing.B) {
	d := NewDetector("x", nil, nil)
	chunk := []byte(strings.Repeat("[   12.345678] usb 1-1: new high-speed USB device number 2 using ehci-pci\r\n", 50))
	b.SetBytes(int64(len(chunk)))
	for i := 0; i < b.N; i++ {
		d.Observe(chunk)
	}
}
