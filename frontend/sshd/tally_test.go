package sshd

import (
	"errors"
	"strings"
	"testing"
	"time"

	"consoled/mux"
)

// The tally says nothing while all input arrives, and how much did not
// when some was refused or only partly written.
func TestInputTallyCounts(t *testing.T) {
	tl := newInputTally()
	ok := func(p []byte) (int, error) { return len(p), nil }
	tl.send([]byte("hello"), ok)
	if r := tl.report("vm1", false); r != "" {
		t.Errorf("all input arrived, yet the report says %q", r)
	}
	tl.send([]byte("refused"), func([]byte) (int, error) { return 0, mux.ErrReadOnly })
	tl.send([]byte("half"), func([]byte) (int, error) { return 2, errors.New("broken pipe") })
	want := "input: 9 of 16 bytes not sent to vm1: read-only: another user has write access"
	if r := tl.report("vm1", false); r != want {
		t.Errorf("report %q, want %q", r, want)
	}
}

// When the session ends first, a send held up by a machine that does not
// read is reported as in flight, and nothing is sent afterwards.
func TestInputTallyEnd(t *testing.T) {
	tl := newInputTally()
	tl.send([]byte("0123456789"), func(p []byte) (int, error) { return len(p), nil })
	release := make(chan struct{})
	started := make(chan struct{})
	go tl.send([]byte("abcd"), func(p []byte) (int, error) {
		close(started)
		<-release // the machine does not read
		return len(p), nil
	})
	<-started
	tl.end(50 * time.Millisecond)
	defer close(release)
	r := tl.report("vm1", true)
	for _, want := range []string{"input: 10 bytes sent to vm1 before the session ended", "4 bytes were still being sent"} {
		if !strings.Contains(r, want) {
			t.Errorf("report %q lacks %q", r, want)
		}
	}
	called := false
	if _, err := tl.send([]byte("late"), func(p []byte) (int, error) { called = true; return len(p), nil }); !errors.Is(err, errSessionOver) || called {
		t.Errorf("a send after the end: err %v, written %v", err, called)
	}

	quiet := newInputTally()
	quiet.end(time.Second)
	if r := quiet.report("vm1", true); r != "" {
		t.Errorf("a session that typed nothing gets %q", r)
	}
}
