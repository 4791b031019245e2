package logstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain runs the test binary as the child of
// TestKilledRunsEntriesAreMerged when $LOGSTORE_CHILD_DIR says so.
func TestMain(m *testing.M) {
	if dir := os.Getenv("LOGSTORE_CHILD_DIR"); dir != "" {
		writeUntilKilled(dir)
	}
	os.Exit(m.Run())
}

// writeUntilKilled writes a numbered line every 10 ms to vm1's log in dir,
// five per (fake) second, until the process is killed; the log rotates at
// $LOGSTORE_CHILD_MAXSIZE bytes, if set, keeping no rotated file.
func writeUntilKilled(dir string) {
	maxSize, _ := strconv.ParseInt(os.Getenv("LOGSTORE_CHILD_MAXSIZE"), 10, 64)
	l, err := Open(dir, "vm1", Options{MaxSize: maxSize})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	clk := &fakeClock{}
	l.now = clk.now
	for i := 0; ; i++ {
		sec := int64(1_800_000_000 + i/5)
		clk.sec.Store(sec)
		fmt.Fprintf(l, "line %d second %d\n", i, sec)
		time.Sleep(10 * time.Millisecond)
	}
}

// A process killed -9 leaves its last seconds' entries in the journal, not
// in the index; the next reader (`consoled logs -data DIR`, no consoled
// running) merges them, exactly and once, and so does the next Open. With
// rotations (none kept: the new file may get the old one's inode), the
// entries of files rotated away are not applied to the current one.
func TestKilledRunsEntriesAreMerged(t *testing.T) {
	t.Run("growing", func(t *testing.T) { killedRunsEntriesAreMerged(t, 0) })
	t.Run("rotating", func(t *testing.T) { killedRunsEntriesAreMerged(t, 2048) })
}

func killedRunsEntriesAreMerged(t *testing.T, maxSize int) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LOGSTORE_CHILD_DIR="+dir, fmt.Sprintf("LOGSTORE_CHILD_MAXSIZE=%d", maxSize))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "vm1.log")
	first := regexp.MustCompile(`^line (\d+) `)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(logPath)
		rotated := false // twice at least
		if m := first.FindSubmatch(b); m != nil {
			n, _ := strconv.Atoi(string(m[1]))
			rotated = n > 2*maxSize/20
		}
		if bytes.Count(b, []byte("\n")) >= 40 && (maxSize == 0 || rotated) {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the child wrote %d bytes in 60 s", len(b))
		}
	}
	cmd.Process.Signal(unix.SIGKILL)
	cmd.Wait()

	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	perSec := map[int64][]string{}
	var lastSec int64
	for _, m := range regexp.MustCompile(`(?m)^line \d+ second (\d+)$`).FindAllStringSubmatch(string(b), -1) {
		sec, _ := strconv.ParseInt(m[1], 10, 64)
		perSec[sec] = append(perSec[sec], m[0])
		lastSec = sec
	}
	idxEntries := func() int64 {
		st, err := os.Stat(logPath + ".idx")
		if err != nil {
			return 0
		}
		return st.Size() / entrySize
	}
	journal, err := os.ReadFile(filepath.Join(dir, JournalName))
	if err != nil {
		t.Fatal(err)
	}
	before := idxEntries()
	if before >= int64(len(perSec)) {
		t.Fatalf("the index has %d entries for %d seconds before any merge: nothing left in the journal to test", before, len(perSec))
	}
	query := func(sec int64) string {
		var out bytes.Buffer
		q := &Query{Since: time.Unix(sec, 0), Until: time.Unix(sec, 0), Timestamps: true}
		if err := q.Run(context.Background(), dir, "vm1", &out); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	want := func(sec int64) string {
		var w strings.Builder
		for _, line := range perSec[sec] {
			fmt.Fprintf(&w, "%s %s\n", time.Unix(sec, 0).UTC().Format(time.RFC3339), line)
		}
		return w.String()
	}
	// While another process holds the journal (a consoled running on the
	// directory), a reader reads it and leaves it and the index alone.
	held, err := os.Open(filepath.Join(dir, JournalName))
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(held.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	for _, sec := range []int64{lastSec, lastSec - 1, lastSec - 3} {
		if got := query(sec); got != want(sec) {
			t.Errorf("the journal held elsewhere, second %d:\n%s\nwant\n%s", sec, got, want(sec))
		}
	}
	if got := idxEntries(); got != before {
		t.Errorf("the index went from %d to %d entries while another process held the journal", before, got)
	}
	held.Close()
	for _, sec := range []int64{lastSec, lastSec - 1, lastSec - 3} {
		if got := query(sec); got != want(sec) {
			t.Errorf("after the kill, second %d:\n%s\nwant\n%s", sec, got, want(sec))
		}
	}
	merged := idxEntries()
	if merged != int64(len(perSec)) {
		t.Errorf("the index has %d entries after the merge, want one for each of the %d seconds", merged, len(perSec))
	}
	if st, err := os.Stat(filepath.Join(dir, JournalName)); err != nil || st.Size() != 0 {
		t.Errorf("the journal is not emptied by the merge: %v", err)
	}
	// Merging the same journal again (a run that starts) adds nothing.
	if err := os.WriteFile(filepath.Join(dir, JournalName), journal, 0o640); err != nil {
		t.Fatal(err)
	}
	l, err := Open(dir, "vm1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if got := idxEntries(); got != merged {
		t.Errorf("the index has %d entries after merging the journal again, want %d", got, merged)
	}
	if got := query(lastSec); got != want(lastSec) {
		t.Errorf("after a restart, second %d:\n%s\nwant\n%s", lastSec, got, want(lastSec))
	}
}

// A merge applies to NAME.log only the entries journaled since its last
// rotation (even when the new file has the old one's inode, which a
// filesystem may reuse), only those within the file, and stops at a record
// cut short.
func TestMergeKeepsToTheFileItIndexes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vm1.log")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x\n"), 500), 0o640); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	ino := inodeOf(st)
	var j []byte
	j = appendEntryRecord(j, "vm1", ino, indexEntry(100, 10)) // the file before the rotation
	j = appendEntryRecord(j, "vm1", ino, indexEntry(101, 600))
	j = appendRecord(j, kindNewFile, "vm1", ino, nil)
	j = appendEntryRecord(j, "vm1", ino, indexEntry(200, 0))    // this file
	j = appendEntryRecord(j, "vm1", ino+1, indexEntry(201, 50)) // another file's
	j = appendEntryRecord(j, "vm1", ino, indexEntry(202, 400))
	j = appendEntryRecord(j, "vm1", ino, indexEntry(203, 1000)) // past the file's end
	j = appendEntryRecord(j, "vm1", ino, indexEntry(204, 900))
	j = j[:len(j)-3] // cut short
	if err := os.WriteFile(filepath.Join(dir, JournalName), j, 0o640); err != nil {
		t.Fatal(err)
	}
	syncIndex(dir, "vm1") // no consoled holds it: merged
	got, _ := os.ReadFile(path + ".idx")
	want := append(indexEntry(200, 0), indexEntry(202, 400)...)
	if !bytes.Equal(got, want) {
		t.Errorf("index after the merge: %x, want %x", got, want)
	}
	if st, _ := os.Stat(filepath.Join(dir, JournalName)); st.Size() != 0 {
		t.Errorf("the journal holds %d bytes after the merge", st.Size())
	}
}
