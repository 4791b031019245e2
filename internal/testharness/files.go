package testharness

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// ReadFileUntil polls the file at path until it contains want and returns
// its content; the test fails if it does not within timeout.
func ReadFileUntil(t testing.TB, path, want string, timeout time.Duration) string {
	t.Helper()
	return WaitFile(t, path, fmt.Sprintf("%q", want), func(s string) bool { return strings.Contains(s, want) }, timeout)
}

// WaitFile polls the file at path until ok says its content is what the
// test waits for (what, for the failure message) and returns it; the test
// fails if it is not within timeout. A file not there yet reads as empty.
func WaitFile(t testing.TB, path, what string, ok func(content string) bool, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(path)
		if ok(string(b)) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not contain %s after %v:\n%s", path, what, timeout, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
