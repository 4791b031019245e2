// Package consoleset is the grammar that names many consoles at once, the
// noderange syntax large sites know from xCAT and confluent:
//
//	web07              a console's name
//	web*  db0?         a glob: * any run of characters, ? one character
//	web[01-20]         a numeric range; a zero-padded start fixes the width
//	r[1-3]u[01-10]     ranges combine (r1u01 .. r3u10)
//	@rack12            every console tagged rack12 (tags = [...] in its block)
//	@rack12,db01       a comma is a union
//	@rack12,-db01      a leading - removes from what the items before it chose
//	@rack12&web*       & intersects: consoles matching every part
//
// Items are read left to right: each adds its consoles to the set, or,
// after a -, takes them out. Console names never hold *, ?, [, @, ',' or
// &, so a name that holds none of them is a single console (IsSet false).
package consoleset

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// MaxLen bounds a set expression.
const MaxLen = 4096

// Member is a console a set may choose.
type Member struct {
	Name string
	Tags []string
}

// Set is a parsed set expression.
type Set struct {
	src   string
	items []item
}

// item is one comma-separated part: consoles matching every atom, added or
// (exclude) removed.
type item struct {
	exclude bool
	atoms   []atom
}

// atom is a tag (@tag) or a name pattern.
type atom struct {
	tag  string // set for @tag
	pat  []seg  // otherwise
	name string // the pattern's text when it is a plain name (no * ? [)
}

// seg is one piece of a name pattern.
type seg struct {
	kind   byte   // 'l' literal, '*' any run, '?' one character, '#' numeric range
	lit    string // for 'l'
	lo, hi uint64 // for '#'
	width  int    // for '#': fixed digit count, 0 for none (no leading zeros)
}

// ErrSyntax is the error Parse returns, wrapped with the details.
var ErrSyntax = errors.New("invalid console set")

// IsSet reports whether s uses set syntax (rather than naming one console).
func IsSet(s string) bool { return strings.ContainsAny(s, "*?[@,&") }

// Parse reads a set expression.
func Parse(s string) (*Set, error) {
	if len(s) > MaxLen {
		return nil, fmt.Errorf("%w: longer than %d characters", ErrSyntax, MaxLen)
	}
	set := &Set{src: s}
	for i, part := range strings.Split(s, ",") {
		it := item{}
		if strings.HasPrefix(part, "-") {
			if i == 0 {
				return nil, fmt.Errorf("%w %q: it starts with an exclusion (-%s); name what to include first, e.g. @rack12,%s", ErrSyntax, s, part[1:], part)
			}
			it.exclude, part = true, part[1:]
		}
		for _, a := range strings.Split(part, "&") {
			at, err := parseAtom(a)
			if err != nil {
				return nil, fmt.Errorf("%w %q: %v", ErrSyntax, s, err)
			}
			it.atoms = append(it.atoms, at)
		}
		set.items = append(set.items, it)
	}
	return set, nil
}

// String is the expression as written.
func (s *Set) String() string { return s.src }

func nameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

func parseAtom(a string) (atom, error) {
	if a == "" {
		return atom{}, errors.New("an empty part (two separators in a row, or one at an end)")
	}
	if tag, ok := strings.CutPrefix(a, "@"); ok {
		if tag == "" {
			return atom{}, errors.New("@ needs a tag name")
		}
		for i := 0; i < len(tag); i++ {
			if !nameChar(tag[i]) {
				return atom{}, fmt.Errorf("tag %q: a tag holds letters, digits, '.', '-' and '_'", tag)
			}
		}
		return atom{tag: tag}, nil
	}
	var at atom
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			at.pat = append(at.pat, seg{kind: 'l', lit: lit.String()})
			lit.Reset()
		}
	}
	plain := true
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch {
		case nameChar(c):
			lit.WriteByte(c)
		case c == '*':
			flush()
			plain = false
			if n := len(at.pat); n == 0 || at.pat[n-1].kind != '*' {
				at.pat = append(at.pat, seg{kind: '*'})
			}
		case c == '?':
			flush()
			plain = false
			at.pat = append(at.pat, seg{kind: '?'})
		case c == '[':
			end := strings.IndexByte(a[i:], ']')
			if end < 0 {
				return atom{}, fmt.Errorf("%q: [ without ]", a)
			}
			r, err := parseRange(a[i+1 : i+end])
			if err != nil {
				return atom{}, fmt.Errorf("%q: %v", a, err)
			}
			flush()
			plain = false
			at.pat = append(at.pat, r)
			i += end
		default:
			return atom{}, fmt.Errorf("%q: %q is neither part of a name nor of a pattern (* ? [1-9] @tag , - &)", a, string(c))
		}
	}
	flush()
	if plain {
		at.name = a
	}
	return at, nil
}

// parseRange reads "lo-hi" of a [lo-hi] range.
func parseRange(s string) (seg, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok || !digits(lo) || !digits(hi) {
		return seg{}, fmt.Errorf("[%s]: a range is [FROM-TO] with numbers, e.g. [01-20]", s)
	}
	if len(lo) > 9 || len(hi) > 9 {
		return seg{}, fmt.Errorf("[%s]: numbers of at most 9 digits", s)
	}
	r := seg{kind: '#'}
	r.lo, _ = strconv.ParseUint(lo, 10, 64)
	r.hi, _ = strconv.ParseUint(hi, 10, 64)
	if r.lo > r.hi {
		return seg{}, fmt.Errorf("[%s]: the range runs backwards", s)
	}
	if padded := len(lo) > 1 && lo[0] == '0' || len(hi) > 1 && hi[0] == '0'; padded {
		if len(lo) != len(hi) {
			return seg{}, fmt.Errorf("[%s]: a zero-padded range has both ends the same width, e.g. [01-20]", s)
		}
		r.width = len(lo)
	}
	return r, nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Select is the names of the members the set chooses, sorted, and the
// plain names it includes that are not members (for the caller to report
// as unknown consoles).
func (s *Set) Select(members []Member) (names, missing []string) {
	chosen := map[string]bool{}
	for _, it := range s.items {
		found := false
		for _, m := range members {
			if it.matches(m) {
				found = true
				if it.exclude {
					delete(chosen, m.Name)
				} else {
					chosen[m.Name] = true
				}
			}
		}
		if !found && !it.exclude && len(it.atoms) == 1 && it.atoms[0].name != "" {
			missing = append(missing, it.atoms[0].name)
		}
	}
	for n := range chosen {
		names = append(names, n)
	}
	sort.Strings(names)
	sort.Strings(missing)
	return names, dedup(missing)
}

func dedup(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func (it item) matches(m Member) bool {
	for _, a := range it.atoms {
		if !a.matches(m) {
			return false
		}
	}
	return true
}

func (a atom) matches(m Member) bool {
	if a.tag != "" {
		for _, t := range m.Tags {
			if t == a.tag {
				return true
			}
		}
		return false
	}
	if a.name != "" {
		return a.name == m.Name
	}
	return match(a.pat, m.Name)
}
