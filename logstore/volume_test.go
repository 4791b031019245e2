package logstore

import (
	"strings"
	"testing"
	"time"
)

// Volume adds up the bytes of each span from the time index, across
// rotated (and compressed) files; seconds outside the range count nowhere.
func TestVolume(t *testing.T) {
	dir := t.TempDir()
	l, clock := clockLog(t, dir, Options{MaxSize: 4096, Keep: 5})
	line := strings.Repeat("x", 99) + "\n" // 100 bytes
	write := func(when time.Time, lines int) {
		*clock = when
		for range lines {
			l.Write([]byte(line))
		}
	}
	write(at(0, 59, 59), 3) // before the range
	write(at(1, 0, 0), 10)  // span 0
	write(at(1, 0, 59), 5)  // span 0
	write(at(1, 1, 0), 50)  // span 1: rotates the file on the way
	write(at(1, 3, 59), 7)  // span 3
	write(at(1, 4, 0), 2)   // after the range
	l.Close()
	got, err := Volume(dir, "vm1", at(1, 0, 0), at(1, 4, 0), 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{1500, 5000, 0, 700}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("volume = %v, want %v", got, want)
		}
	}
	if _, err := Volume(dir, "nope", at(1, 0, 0), at(1, 4, 0), 4); err == nil {
		t.Error("no error for a console without a log")
	}
}
