package breakseq

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []Step
	}{
		{`\z`, []Step{{Break: true}}},
		{`\r~^b`, []Step{{Data: []byte("\r~\x02")}}},
		{`#.`, []Step{{Data: []byte("#.")}}},
		{`\r\d~\d^b`, []Step{{Data: []byte("\r")}, {Pause: true}, {Data: []byte("~")}, {Pause: true}, {Data: []byte{2}}}},
		{`\zA\101\\^^^?\n\^`, []Step{{Break: true}, {Data: []byte("AA\\\x1e\x7f\n^")}}},
		{`\0x`, []Step{{Data: []byte("\x00x")}}},
		{`\t\b\a\f\v`, []Step{{Data: []byte("\t\b\a\f\v")}}},
		{`a^`, []Step{{Data: []byte("a^")}}}, // a lone trailing ^ is itself
	} {
		got, err := Parse(tc.src)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.src, got, err, tc.want)
		}
	}
	for _, bad := range []string{``, `\q`} {
		if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "break sequence") {
			t.Errorf("Parse(%q): %v, want an error naming the sequence", bad, err)
		}
	}
	for n, src := range Defaults {
		if _, err := Parse(src); err != nil {
			t.Errorf("default %d: %v", n, err)
		}
	}
}

type recorder struct {
	got      []string
	failWith error
}

func (r *recorder) Write(p []byte) (int, error) {
	r.got = append(r.got, "w:"+string(p))
	return len(p), r.failWith
}

func (r *recorder) Break() error { r.got = append(r.got, "BREAK"); return nil }

func TestSend(t *testing.T) {
	steps, _ := Parse(`\r\z\d~^b`)
	seq := Seq{Steps: steps, Delay: 50 * time.Millisecond}
	r := &recorder{}
	start := time.Now()
	if err := Send(context.Background(), r, seq); err != nil {
		t.Fatal(err)
	}
	if want := []string{"w:\r", "BREAK", "w:~\x02"}; !reflect.DeepEqual(r.got, want) {
		t.Errorf("sent %q, want %q", r.got, want)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("the pause took %v, want 50ms", d)
	}

	// A failed step stops the sequence.
	r = &recorder{failWith: errors.New("console down")}
	if err := Send(context.Background(), r, seq); err == nil || len(r.got) != 1 {
		t.Errorf("after a failed write: %v, sent %q", err, r.got)
	}

	// A session that ends during a pause ends the sequence there.
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("client went away")
	time.AfterFunc(20*time.Millisecond, func() { cancel(cause) })
	r = &recorder{}
	seq.Delay = time.Hour
	if err := Send(ctx, r, seq); err != cause || len(r.got) != 2 {
		t.Errorf("cancelled in a pause: %v, sent %q", err, r.got)
	}
}
