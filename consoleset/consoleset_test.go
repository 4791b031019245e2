package consoleset

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var fleet = []Member{
	{Name: "web01", Tags: []string{"rack12", "web"}},
	{Name: "web02", Tags: []string{"rack12", "web"}},
	{Name: "web10", Tags: []string{"rack13", "web"}},
	{Name: "web20"},
	{Name: "web100"},
	{Name: "db01", Tags: []string{"rack12", "db"}},
	{Name: "db1"},
	{Name: "r1u01"}, {Name: "r1u10"}, {Name: "r2u05"}, {Name: "r3u11"}, {Name: "r4u01"},
	{Name: "n9"}, {Name: "n10"}, {Name: "n010"},
	{Name: "sw-core.lab"},
}

func TestSelect(t *testing.T) {
	for _, tc := range []struct {
		set           string
		want, missing string
	}{
		{"web01", "web01", ""},
		{"web*", "web01 web02 web10 web100 web20", ""},
		{"web0?", "web01 web02", ""},
		{"*", "db01 db1 n010 n10 n9 r1u01 r1u10 r2u05 r3u11 r4u01 sw-core.lab web01 web02 web10 web100 web20", ""},
		{"web[01-20]", "web01 web02 web10 web20", ""},
		{"web[1-20]", "web10 web20", ""},         // unpadded: no leading zeros
		{"web[1-100]", "web10 web100 web20", ""}, // ranges take every width
		{"r[1-3]u[01-10]", "r1u01 r1u10 r2u05", ""},
		{"n[9-10]", "n10 n9", ""},
		{"n[009-010]", "n010", ""},
		{"@rack12", "db01 web01 web02", ""},
		{"@rack12,web10", "db01 web01 web02 web10", ""},
		{"@rack12,-db01", "web01 web02", ""},
		{"@rack12&web*", "web01 web02", ""},
		{"@web&@rack12", "web01 web02", ""},
		{"web*,-web[01-02],db1", "db1 web10 web100 web20", ""},
		{"web*,-@web,web02", "web02 web100 web20", ""}, // left to right
		{"sw-core.lab", "sw-core.lab", ""},
		{"web01,nope,db*", "db01 db1 web01", "nope"},
		{"@nosuchtag", "", ""},
		{"nope,nope", "", "nope"},
		{"x*", "", ""},
		{"web01,-nope", "web01", ""}, // an exclusion of nothing is fine
	} {
		s, err := Parse(tc.set)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.set, err)
			continue
		}
		names, missing := s.Select(fleet)
		if got := strings.Join(names, " "); got != tc.want {
			t.Errorf("%q selects %q, want %q", tc.set, got, tc.want)
		}
		if got := strings.Join(missing, " "); got != tc.missing {
			t.Errorf("%q misses %q, want %q", tc.set, got, tc.missing)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"", "empty part"},
		{"web01,", "empty part"},
		{"a,,b", "empty part"},
		{"a&", "empty part"},
		{"-web01", "starts with an exclusion"},
		{"@", "needs a tag"},
		{"@a*", "a tag holds"},
		{"web[1-", "without ]"},
		{"web[5]", "a range is"},
		{"web[a-b]", "a range is"},
		{"web[9-1]", "backwards"},
		{"web[01-100]", "same width"},
		{"web[1-1234567890]", "at most 9 digits"},
		{"web 01", "neither part of a name"},
		{"web/01", "neither part of a name"},
		{strings.Repeat("a", MaxLen+1), "longer than"},
	} {
		_, err := Parse(tc.set)
		if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an ErrSyntax saying %q", tc.set, err, tc.want)
		}
	}
}

func TestIsSet(t *testing.T) {
	for s, want := range map[string]bool{
		"web01": false, "sw-core.lab": false, "web*": true, "web0?": true, "web[1-2]": true,
		"@rack": true, "a,b": true, "a&b": true,
	} {
		if IsSet(s) != want {
			t.Errorf("IsSet(%q) = %v", s, !want)
		}
	}
}

// A pattern of many stars against a long name stays fast (no exponential
// backtracking).
func TestMatchBounded(t *testing.T) {
	s, err := Parse(strings.Repeat("a*", 40) + "b")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := s.Select([]Member{{Name: strings.Repeat("a", 64)}})
	if names != nil {
		t.Errorf("matched %v", names)
	}
}

func FuzzSelect(f *testing.F) {
	for _, s := range []string{"web*", "r[1-3]u[01-10]", "@rack12,-db01", "@rack12&web*", "a,b,-c", "n[9-10]", "?*?"} {
		f.Add(s, "web01")
	}
	f.Fuzz(func(t *testing.T, expr, name string) {
		s, err := Parse(expr)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q): error not ErrSyntax: %v", expr, err)
			}
			return
		}
		m := []Member{{Name: name, Tags: []string{name}}, {Name: "web01"}}
		names, missing := s.Select(m)
		for _, n := range names {
			if n != name && n != "web01" {
				t.Fatalf("%q selected %q, not a member", expr, n)
			}
		}
		// A set without set syntax names one console: itself.
		if !IsSet(expr) && !strings.HasPrefix(expr, "-") {
			if want := []string{"web01"}; expr == "web01" && !reflect.DeepEqual(names, want) {
				t.Fatalf("%q selected %v", expr, names)
			}
			if len(names) > 1 || len(names) == 1 && names[0] != expr || len(missing) > 0 && missing[0] != expr {
				t.Fatalf("plain %q selected %v missing %v", expr, names, missing)
			}
		}
	})
}
