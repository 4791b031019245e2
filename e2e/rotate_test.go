package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// consoleLogBytes sums the files max_total bounds for the named consoles:
// NAME.log, NAME.log.idx and every NAME.log.K(.gz)(.idx).
func consoleLogBytes(dir string, names []string) int64 {
	var total int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		for _, n := range names {
			// r1.log.99.gz is the test's foreign file: not consoled's, so
			// not in its budget either.
			if e.Name() == n+".log" || strings.HasPrefix(e.Name(), n+".log.") && !strings.HasSuffix(e.Name(), ".99.gz") {
				if info, err := e.Info(); err == nil {
					total += info.Size()
				}
			}
		}
	}
	return total
}

// Three consoles print fast with a small max_size and a max_total that
// forces removals: the console logs stay within max_total throughout,
// every rotated file holds whole, consecutive lines, and the other files
// in log_dir (a foreign .gz among them) are left alone.
func TestRotationAndMaxTotal(t *testing.T) {
	alice := newKey(t, "alice")
	names := []string{"r1", "r2", "r3"}
	cfg := userBlock("alice", alice) + "max_total = \"64KiB\"\n"
	for _, n := range names {
		cfg += fmt.Sprintf(`
console %q {
  exec { command = ["/bin/sh", "-c", "i=0; while :; do for j in 1 2 3 4 5 6 7 8 9 10; do i=$((i+1)); echo \"%s-line-$i of a console that keeps printing\"; done; sleep 0.01; done"] }
  log {
    max_size = "8KiB"
    keep     = 50
  }
}
`, n, n)
	}
	d := startConsoled(t, cfg)
	logs := filepath.Join(d.Dir, "logs")
	foreign := map[string][]byte{"backup.log.1.gz": gzipped("an operator's own file"), "r1.log.99.gz": gzipped("not consoled's either"), "notes.txt": []byte("keep")}
	for name, b := range foreign {
		if err := os.WriteFile(filepath.Join(logs, name), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	const limit = 64 << 10
	var peak int64
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n := consoleLogBytes(logs, names)
		for i := 0; i < 3 && n > limit; i++ {
			// A listing during a rename can see one file under two names:
			// look again before calling it a breach.
			n = min(n, consoleLogBytes(logs, names))
		}
		peak = max(peak, n)
		time.Sleep(20 * time.Millisecond)
	}
	d.Stop()
	peak = max(peak, consoleLogBytes(logs, names))
	t.Logf("peak %d bytes of console logs, max_total %d", peak, limit)
	if peak > limit {
		t.Errorf("console logs reached %d bytes, over max_total %d", peak, limit)
	}
	for name, want := range foreign {
		if b, err := os.ReadFile(filepath.Join(logs, name)); err != nil || !bytes.Equal(b, want) {
			t.Errorf("%s in log_dir was touched: %v", name, err)
		}
	}
	line := regexp.MustCompile(`^(r\d)-line-(\d+) of a console that keeps printing\r$`)
	rotated := 0
	for _, n := range names {
		files, _ := filepath.Glob(filepath.Join(logs, n+".log.*.gz"))
		for _, f := range files {
			if strings.HasSuffix(f, ".99.gz") {
				continue
			}
			b := gunzip(t, f)
			rotated++
			if len(b) > 8<<10 || !bytes.HasSuffix(b, []byte("\n")) {
				t.Errorf("%s: %d bytes, ends %q: not whole lines within max_size", f, len(b), b[max(0, len(b)-20):])
				continue
			}
			prev := -1
			for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
				if strings.HasPrefix(l, "[-- consoled: ") {
					continue
				}
				m := line.FindStringSubmatch(l)
				if m == nil || m[1] != n {
					t.Errorf("%s: line %q is not a whole line of %s", f, l, n)
					break
				}
				k, _ := strconv.Atoi(m[2])
				if prev >= 0 && k != prev+1 {
					t.Errorf("%s: line %d follows %d", f, k, prev)
					break
				}
				prev = k
			}
		}
	}
	if rotated < 6 {
		t.Errorf("only %d rotated logs left: the consoles did not rotate enough to test", rotated)
	}
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}
