package cmdargs

import (
	"fmt"
	"testing"
)

func TestParse(t *testing.T) {
	a, err := Parse([]string{"vm1", "t", "--expect", "Kernel", "panic", "--wait=5s", "--force"}, []string{"wait", "expect..."}, []string{"force"})
	if err != nil || fmt.Sprint(a.Pos) != "[vm1 t]" || a.Flags["expect"] != "Kernel panic" || a.Flags["wait"] != "5s" || a.Flags["force"] != "true" {
		t.Errorf("%+v %v", a, err)
	}
	a, err = ParseUntil([]string{"--force", "vm1", "-n", "i=0;", "while", "[", "$i", "-lt", "3", "]"}, nil, []string{"force", "n"}, 2)
	if err != nil || fmt.Sprint(a.Pos) != "[vm1 i=0; while [ $i -lt 3 ]]" || a.Flags["n"] == "" || a.Flags["force"] == "" {
		t.Errorf("ParseUntil: %+v %v", a, err)
	}
	if _, err := Parse([]string{"--bogus"}, nil, nil); err == nil {
		t.Error("unknown option accepted")
	}
	if _, err := Parse([]string{"--wait"}, []string{"wait"}, nil); err == nil {
		t.Error("missing value accepted")
	}
}

// FuzzParse: the SSH command-line parser never panics and never loses a
// positional argument it was given before the first option.
func FuzzParse(f *testing.F) {
	f.Add("vm1", "--wait", "5s")
	f.Add("--", "--x", "-")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		args, err := Parse([]string{a, b, c}, []string{"wait", "expect..."}, []string{"force"})
		if err == nil && len(a) > 0 && a[0] != '-' && (len(args.Pos) == 0 || args.Pos[0] != a) {
			t.Fatalf("lost %q: %+v", a, args)
		}
	})
}
