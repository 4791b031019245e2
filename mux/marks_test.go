package mux

import (
	"testing"
	"time"

	"consoled/logstore"
)

// DiedUp says the previous run died up exactly when its last connection
// mark is "console up": other marks after it do not count, and any
// "console down" after it (a drop, a stop, a removal) means it did not.
func TestDiedUp(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		marks []string
		want  bool
	}{
		{"no log", nil, false},
		{"up", []string{EventUp}, true},
		{"up then people", []string{EventUp, "alice attached rw from 10.0.0.7", "note by alice: x", "alice detached"}, true},
		{"stopped", []string{EventUp, EventDown + ": consoled stopping"}, false},
		{"dropped, then failing", []string{EventUp, EventDown + ": EOF", "connect failed: refused"}, false},
		{"never up", []string{"connect failed: activating SOL: in use"}, false},
		{"up again after a drop", []string{EventUp, EventDown + ": EOF", EventUp, "initcmd sent"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.marks != nil {
				l, err := logstore.Open(dir, "c", logstore.Options{})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range tc.marks {
					l.Write([]byte("output\r\n"))
					l.Mark(m, at)
				}
				l.Write([]byte("prompt# "))
				l.Close()
			}
			got, err := DiedUp(dir, "c")
			if err != nil || got != tc.want {
				t.Errorf("DiedUp = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
