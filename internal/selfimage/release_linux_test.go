package selfimage

import (
	"os"
	"reflect"
	"testing"
)

// Only the executable's private, read-only mappings whose pages are all
// the file's may be released: not its data, not a segment written before
// it was made read-only (relocations), not a shared mapping, not another
// file's mapping, even one with the same inode number on another device.
// A text mapping whose page cache pages are not yet written back
// (Private_Dirty, no Anonymous) is the file's.
func TestImageSpans(t *testing.T) {
	f, err := os.Open("testdata/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := imageSpans(f, "fe:00", 10016611)
	if err != nil {
		t.Fatal(err)
	}
	want := []span{{lo: 0x400000, hi: 0xd94000, rssKiB: 8592}, {lo: 0xd94000, hi: 0x1900000, rssKiB: 8368}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spans %+v, want %+v", got, want)
	}
}

// Device numbers read as smaps writes them, major and minor in hex.
func TestDevName(t *testing.T) {
	for dev, want := range map[uint64]string{0xfe00: "fe:00", 0x0801: "08:01", 0x10305: "103:05", 0x100823: "08:123"} {
		if got := devName(dev); got != want {
			t.Errorf("devName(%#x) = %s, want %s", dev, got, want)
		}
	}
}
