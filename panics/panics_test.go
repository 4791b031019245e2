package panics

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// detector returns a detector on a clock the test moves, and the events it
// reported.
func detector(t *testing.T, extra ...*regexp.Regexp) (*Detector, *time.Time, *[]Event) {
	t.Helper()
	evs := &[]Event{}
	clock := time.Date(2026, 11, 23, 3, 12, 0, 0, time.UTC)
	d := NewDetector("vm1", extra, func(e Event) { *evs = append(*evs, e) })
	d.now = func() time.Time { return clock }
	return d, &clock, evs
}

// feed passes s to d in pieces of n bytes, split anywhere.
func feed(d *Detector, s string, n int) {
	for i := 0; i < len(s); i += n {
		d.Observe([]byte(s[i:min(i+n, len(s))]))
	}
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func headlines(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Headline)
	}
	return out
}

// Output captured from the harness's qemu guest (Linux 6.1, busybox ash)
// after a BREAK and a SysRq key: t, w and l print call traces on request,
// h prints help; only c is a crash.
func TestDetectorGuestSysRq(t *testing.T) {
	const crash = "Kernel panic - not syncing: sysrq triggered crash"
	for _, tc := range []struct {
		files []string // printed 10 s apart
		want  []string
	}{
		{[]string{"sysrq-t.log"}, nil},
		{[]string{"sysrq-w.log"}, nil},
		{[]string{"sysrq-l.log"}, nil},
		{[]string{"sysrq-h.log"}, nil},
		{[]string{"sysrq-c.log"}, []string{crash}},
		{[]string{"sysrq-t.log", "sysrq-l.log", "sysrq-t.log", "sysrq-c.log"}, []string{crash}},
		// a task dump right after a crash is part of it
		{[]string{"sysrq-c.log", "sysrq-t.log"}, []string{crash}},
	} {
		for _, n := range []int{1, 7, 4096} {
			d, clock, evs := detector(t)
			for _, f := range tc.files {
				feed(d, fixture(t, f), n)
				*clock = clock.Add(10 * time.Second)
			}
			if got := headlines(*evs); strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("%v in pieces of %d: crashes %q, want %q", tc.files, n, got, tc.want)
			}
		}
	}
}

func TestDetectorOneEventPerCrash(t *testing.T) {
	d, clock, evs := detector(t, regexp.MustCompile(`MCE: \d+ errors`))
	d.console = "web07"
	crash := "[  101.5] sysrq: Trigger a crash\r\n[  101.5] Kernel panic - not syncing: sysrq triggered crash\r\n" +
		"CPU: 0 PID: 1 Comm: sh\r\nCall Trace:\r\n <TASK>\r\n dump_stack_lvl+0x44/0x5c\r\n---[ end Kernel panic ]---\r\n"
	feed(d, crash, 7)
	if len(*evs) != 1 || (*evs)[0].Headline != "Kernel panic - not syncing: sysrq triggered crash" || (*evs)[0].Console != "web07" {
		t.Fatalf("events %+v", *evs)
	}
	*clock = clock.Add(time.Minute) // a later, separate crash
	d.Observe([]byte("BUG: unable to handle page fault\r\nOops: 0000 [#1]\r\n"))
	d.Observe([]byte("ordinary output\r\nMCE: 3 errors\n"))
	*clock = clock.Add(time.Hour)
	d.Observe([]byte("MCE: 12 errors\n"))
	if got := headlines(*evs); len(got) != 3 || got[1] != "BUG: unable to handle page fault" || got[2] != "MCE: 12 errors" {
		t.Fatalf("events %q", got)
	}
}

// A crash stays one event while its traces keep coming; a trace after
// the crash has been quiet for 30 s is a diagnostic again.
func TestDetectorTraceFollowsCrash(t *testing.T) {
	d, clock, evs := detector(t)
	d.Observe([]byte("[  5.1] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [sh:1]\r\n"))
	for i := 0; i < 6; i++ { // traces 20 s apart: still the same lockup
		*clock = clock.Add(20 * time.Second)
		d.Observe([]byte("[  5.2] Call Trace:\r\n"))
	}
	*clock = clock.Add(31 * time.Second)
	d.Observe([]byte("[  9.9] Call Trace:\r\n[  9.9] ---[ end trace 0000000000000000 ]---\r\n"))
	if got := headlines(*evs); len(got) != 1 || got[0] != "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [sh:1]" {
		t.Fatalf("events %q", got)
	}
}

func TestDetectorHeadlines(t *testing.T) {
	for _, tc := range []struct {
		line  string
		crash bool
	}{
		{"[   56.018673] Kernel panic - not syncing: sysrq triggered crash", true},
		{"[    3.1] Oops: general protection fault, probably for non-canonical address 0xdead: 0000 [#1] PREEMPT SMP NOPTI", true},
		{"[    3.1] BUG: kernel NULL pointer dereference, address: 0000000000000000", true},
		{"[    3.1] kernel BUG at mm/slub.c:4321!", true},
		{"[    3.1] watchdog: Watchdog detected hard LOCKUP on cpu 1", true},
		{"[  245.3] INFO: task kworker/0:1:12 blocked for more than 120 seconds.", true},
		{"[   30.2] rcu: INFO: rcu_preempt self-detected stall on CPU", true},
		{"[   30.2] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:", true},
		{"panic: page fault", true},
		{"\rpanic: runtime error: index out of range [3] with length 3", true},
		{"\x1b[?2004l\rpanic: runtime error: invalid memory address", true}, // bash 5.2, then the program
		{"\x1b]0;root@db01\a\x1b[1mpanic: boom", true},
		{"bash-5.2# echo panic: not at the start\r", false},
		{"[  1.0] panic: vm_fault: fault on nofault entry", true},
		{"*** STOP: 0x0000007B (0xF78D2524,0xC0000034,0x00000000,0x00000000)", true},
		{"[    7.072709] Call Trace:", false},
		{"[   26.747543] NMI backtrace for cpu 0", false},
		{"[   26.756157] ---[ end trace 0000000000000000 ]---", false},
		{"/ # grep panic: /var/log/messages", false},
		{"[   56.019786]  panic+0x118/0x2f4", false},
		{"[    7.071839] sysrq: Show State", false},
	} {
		d, _, evs := detector(t)
		d.Observe([]byte(tc.line + "\r\n"))
		if got := len(*evs) == 1; got != tc.crash {
			t.Errorf("%q: crash %v, want %v", tc.line, got, tc.crash)
		}
	}
}

// The headline is shown to people (marks, notices, the panic list): no
// control characters, C0 or C1, survive in it.
func TestDetectorHeadlineControls(t *testing.T) {
	d, _, evs := detector(t)
	d.Observe([]byte("[ 1.0] Kernel panic - not syncing: \x1b[6n\xc2\x9b6n\x9b\x07\x7fend\r\n"))
	if got := headlines(*evs); len(got) != 1 || got[0] != "Kernel panic - not syncing: [6n6n\ufffdend" {
		t.Fatalf("headline %q", got)
	}
}

// A panic printed as a command's first output at bash (after its
// ESC[?2004l CR) is headlined by what the terminal shows.
func TestDetectorPanicAfterBash(t *testing.T) {
	d, _, evs := detector(t)
	feed(d, "\x1b[?2004hbash-5.2# ./server\r\r\n\x1b[?2004l\rpanic: runtime error: invalid memory address\r\r\n\r\r\ngoroutine 1 [running]:\r\r\n", 7)
	if got := headlines(*evs); len(got) != 1 || got[0] != "panic: runtime error: invalid memory address" {
		t.Fatalf("events %q", got)
	}
}

// A console printing "panic:" a thousand times in a burst is one crash.
func TestDetectorBurst(t *testing.T) {
	d, _, evs := detector(t)
	feed(d, strings.Repeat("panic: again\n", 1000), 512)
	if len(*evs) != 1 {
		t.Fatalf("%d events", len(*evs))
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

// A console's detector is small: the built-in patterns are shared, not
// held by each of ten thousand detectors.
func TestDetectorHeap(t *testing.T) {
	const n = 10000
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	ds := make([]*Detector, n)
	for i := range ds {
		ds[i] = NewDetector("c", nil, nil)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	per := (int64(m1.HeapAlloc) - int64(m0.HeapAlloc)) / n
	runtime.KeepAlive(ds)
	if per > 140 {
		t.Errorf("a detector holds %d bytes, want at most 140", per)
	}
}
