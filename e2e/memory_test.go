package e2e

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// imageResident is how much of the executable's read-only mappings (code
// and read-only data) process pid has mapped, in KiB, of how much.
func imageResident(t *testing.T, pid int, exe string) (rss, size int64) {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		switch {
		case len(fl) >= 5 && strings.Contains(fl[0], "-") && !strings.HasSuffix(fl[0], ":"):
			in = len(fl) == 6 && fl[5] == exe && !strings.Contains(fl[1], "w")
		case in && len(fl) >= 2 && fl[0] == "Size:":
			n, _ := strconv.ParseInt(fl[1], 10, 64)
			size += n
		case in && len(fl) >= 2 && fl[0] == "Rss:":
			n, _ := strconv.ParseInt(fl[1], 10, 64)
			rss += n
		}
	}
	if size == 0 {
		t.Fatalf("no read-only mapping of %s in /proc/%d/smaps", exe, pid)
	}
	return rss, size
}

// Start-up (every linked package's init, the config parse) brings in
// nearly all of consoled's code and read-only data, and the kernel keeps
// it mapped; once listening, consoled lets go of it, and maps back only
// what it uses: well under half of its image stays resident.
func TestProgramImageReleasedAfterStart(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+`console "vm1" {
  demo {}
}
`)
	var rss, size int64
	deadline := time.Now().Add(20 * time.Second)
	for {
		rss, size = imageResident(t, d.cmd.Process.Pid, binary)
		if rss*2 < size || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d KiB of the image's %d KiB resident", rss, size)
	if rss*2 >= size {
		t.Errorf("%d KiB of the image's %d KiB still resident after start, want under half", rss, size)
	}
}
