// Package selfimage gives back the pages of the running program's own
// executable that start-up brought in and a running server does not use.
package selfimage

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Release lets go of the pages of consoled's own program that
// start-up brought in. Every linked package runs its init at start, and
// the kernel maps the 64 KiB around each page a fault touches, so start-up
// leaves nearly all of the executable's code and read-only data mapped
// (about 19 MiB of 21), while a running server uses a fraction of it.
// Only mappings of the executable that are private, not writable and hold
// no written (anonymous) page are released: their contents are the file's,
// which stays in the page cache, so a page used again is mapped back from
// there. It returns the resident KiB it released.
func Release() (int64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &st); err != nil {
		return 0, fmt.Errorf("finding the executable: %w", err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("reading the process's mappings: %w", err)
	}
	defer f.Close()
	spans, err := imageSpans(f, devName(st.Dev), st.Ino)
	if err != nil {
		return 0, fmt.Errorf("reading the process's mappings: %w", err)
	}
	var released int64
	for _, s := range spans {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, s.lo, s.hi-s.lo, syscall.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("releasing %x-%x: %w", s.lo, s.hi, errno)
		}
		released += s.rssKiB
	}
	return released, nil
}

// span is a mapping of the executable that Release may release.
type span struct {
	lo, hi uintptr
	rssKiB int64
}

// devName is a device number as smaps writes it ("fe:00").
func devName(dev uint64) string {
	major := (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff)
	minor := dev&0xff | (dev>>12)&^uint64(0xff)
	return fmt.Sprintf("%02x:%02x", major, minor)
}

// imageSpans reads /proc/PID/smaps and returns the mappings of file
// (dev, ino) that are private and not writable, and hold no anonymous
// page (none written since: a relocated read-only-after-relocation
// segment, a debugger's breakpoint).
func imageSpans(smaps io.Reader, dev string, ino uint64) ([]span, error) {
	var out []span
	var cur *span // the current mapping, while it qualifies
	keep := func() {
		if cur != nil {
			out = append(out, *cur)
		}
		cur = nil
	}
	sc := bufio.NewScanner(smaps)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") { // a mapping's header
			keep()
			lo, hi, ok := strings.Cut(f[0], "-")
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			n, err3 := strconv.ParseUint(f[4], 10, 64)
			if !ok || err1 != nil || err2 != nil || err3 != nil {
				return nil, fmt.Errorf("unexpected mapping line %q", sc.Text())
			}
			if f[3] == dev && n == ino && len(f[1]) == 4 && f[1][1] != 'w' && f[1][3] == 'p' {
				cur = &span{lo: uintptr(a), hi: uintptr(b)}
			}
			continue
		}
		if cur == nil || len(f) < 2 {
			continue
		}
		switch f[0] {
		case "Rss:":
			cur.rssKiB, _ = strconv.ParseInt(f[1], 10, 64)
		case "Anonymous:", "Swap:": // not Private_Dirty: a page cache page not yet written back is dirty too
			if f[1] != "0" {
				cur = nil // pages written in memory: the file does not hold them
			}
		}
	}
	keep()
	return out, sc.Err()
}
