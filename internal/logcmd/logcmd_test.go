package logcmd

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/panics"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2h":                   now.Add(-2 * time.Hour),
		"1d":                   now.Add(-24 * time.Hour),
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"1d12h":                now.Add(-36 * time.Hour),
		"2026-11-23T03:00":     time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC),
		"2026-11-23T03:00:05Z": time.Date(2026, 11, 23, 3, 0, 5, 0, time.UTC),
		"2026-11-22":           time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC),
	} {
		if got, err := ParseTime(in, now); err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"yesterday-ish", "d", "1dd", "-2h", "1d-2h", "xd"} {
		if _, err := ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
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
	_, _, err = ParseLogs([]string{"vm1", "--since", "2026-11-30T03:20", "--until", "2026-11-30T03:10"}, time.Now())
	if err == nil || err.Error() != "--until 2026-11-30T03:10:00Z is before --since 2026-11-30T03:20:00Z" {
		t.Errorf("a range that ends before it starts: %v", err)
	}
	if _, _, err := ParseLogs([]string{"vm1", "--since", "2026-11-30T03:20", "--until", "2026-11-30T03:20"}, time.Now()); err != nil {
		t.Errorf("a one-second range: %v", err)
	}
}

// writeLog writes DIR/NAME.log and its time index: each part at its time.
func writeLog(t *testing.T, dir, name string, parts []string, times []time.Time) {
	t.Helper()
	var data, idx []byte
	for i, p := range parts {
		idx = binary.LittleEndian.AppendUint64(idx, uint64(times[i].Unix()))
		idx = binary.LittleEndian.AppendUint64(idx, uint64(len(data)))
		data = append(data, p...)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".log"), data, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".log.idx"), idx, 0o640); err != nil {
		t.Fatal(err)
	}
}

// The logs command that panics suggests shows the crash, even when the
// panic ended a line that began hours before (a login prompt).
func TestPanicsWindowShowsTheCrash(t *testing.T) {
	dir := t.TempDir()
	prompt := time.Date(2026, 11, 30, 0, 0, 3, 0, time.UTC)
	crash := prompt.Add(5*time.Hour + 17*time.Second)
	writeLog(t, dir, "vm1", []string{
		"Debian GNU/Linux 12 vm1 ttyS0\r\n\r\nvm1 login: ",
		"[18017.2] Kernel panic - not syncing: Fatal exception\r\n",
		"[18017.3] ---[ end Kernel panic - not syncing: Fatal exception ]---\r\n",
	}, []time.Time{prompt, crash, crash.Add(time.Second)})
	ev, _ := json.Marshal(panics.Event{Console: "vm1", Time: crash.Add(300 * time.Millisecond), Headline: "Kernel panic - not syncing: Fatal exception"})
	os.WriteFile(filepath.Join(dir, "panics.jsonl"), append(ev, '\n'), 0o640)

	var out bytes.Buffer
	if err := Panics(nil, panics.NewStore(filepath.Join(dir, "panics.jsonl")), crash.Add(time.Hour), nil, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(strings.TrimSpace(lines[1]), "logs vm1 --since ") {
		t.Fatalf("panics:\n%s", out.String())
	}
	args := strings.Fields(lines[1])[1:]
	out.Reset()
	if err := Logs(context.Background(), args, dir, nil, nil, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "vm1 login: [18017.2] Kernel panic - not syncing: Fatal exception\n") ||
		!strings.Contains(out.String(), "---[ end Kernel panic") {
		t.Errorf("%s:\n%s", lines[1], out.String())
	}
}

// panics NAME for a console that does not exist (or may not be seen) is
// an error, not an empty list.
func TestPanicsUnknownConsole(t *testing.T) {
	dir := t.TempDir()
	store := panics.NewStore(filepath.Join(dir, "panics.jsonl"))
	known := func(name string) bool { return name == "vm1" }
	var out bytes.Buffer
	if err := Panics([]string{"nosuch"}, store, time.Now(), known, &out); err == nil || !strings.Contains(err.Error(), `no console "nosuch"`) {
		t.Errorf("panics nosuch: %v", err)
	}
	if err := Panics([]string{"vm1"}, store, time.Now(), known, &out); err != nil || out.Len() != 0 {
		t.Errorf("panics vm1 (no crash): %v %q", err, out.String())
	}
}
