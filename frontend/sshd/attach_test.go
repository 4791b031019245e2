package sshd

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"consoled/mux"
)

// Output that queued while the previous write was going out is sent as one
// write per run between notices, in order with the notices.
func TestSendItemsJoinsOutputRuns(t *testing.T) {
	var got []string
	write := func(p []byte) error { got = append(got, "w:"+string(p)); return nil }
	notice := func(s string) { got = append(got, "n:"+s) }
	var buf []byte
	items := []mux.Item{{Data: []byte("a")}, {Data: []byte("b")}, {Data: []byte("c")},
		{Notice: "alice attached"}, {Data: []byte("d")}, {Notice: "console down"}, {Notice: "console up"},
		{Data: []byte("e")}, {Data: []byte("f")}}
	if err := sendItems(items, &buf, write, notice); err != nil {
		t.Fatal(err)
	}
	want := []string{"w:abc", "n:alice attached", "w:d", "n:console down", "n:console up", "w:ef"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}

	// A long run is cut into writes of about 32 KiB, nothing lost or reordered.
	got = nil
	items = items[:0]
	var all strings.Builder
	for i := 0; i < 100; i++ {
		p := strings.Repeat(string(rune('A'+i%26)), 1000)
		all.WriteString(p)
		items = append(items, mux.Item{Data: []byte(p)})
	}
	if err := sendItems(items, &buf, write, notice); err != nil {
		t.Fatal(err)
	}
	var joined strings.Builder
	for _, w := range got {
		if len(w)-2 > 33<<10 {
			t.Errorf("one write of %d bytes", len(w)-2)
		}
		joined.WriteString(strings.TrimPrefix(w, "w:"))
	}
	if joined.String() != all.String() {
		t.Error("long run altered")
	}
	if len(got) < 3 || len(got) > 5 {
		t.Errorf("100 KB in %d writes, want about 4", len(got))
	}

	// A failed write ends the pump with its error.
	boom := errors.New("client gone")
	if err := sendItems([]mux.Item{{Data: []byte("x")}}, &buf, func([]byte) error { return boom }, notice); err != boom {
		t.Errorf("error %v, want %v", err, boom)
	}
}
