package registry

import (
	"fmt"
	"reflect"
	"sort"

	"consoled/config"
)

// Diff is what a new configuration changes in the running consoles, each
// list sorted by name.
type Diff struct {
	Added     []string // in the new configuration only: start
	Removed   []string // in the running one only: stop
	Changed   []string // in both, with a different backend, log or power setting: restart
	Unchanged []string // in both, alike but for access lists: keep running
}

// Compare says what turning the running consoles into next takes.
func Compare(running map[string]config.Console, next []config.Console) Diff {
	var d Diff
	seen := map[string]bool{}
	for _, c := range next {
		seen[c.Name] = true
		old, ok := running[c.Name]
		switch {
		case !ok:
			d.Added = append(d.Added, c.Name)
		case sameConsole(old, c):
			d.Unchanged = append(d.Unchanged, c.Name)
		default:
			d.Changed = append(d.Changed, c.Name)
		}
	}
	for name := range running {
		if !seen[name] {
			d.Removed = append(d.Removed, name)
		}
	}
	for _, l := range [][]string{d.Added, d.Removed, d.Changed, d.Unchanged} {
		sort.Strings(l)
	}
	return d
}

// String is the summary a reload reports.
func (d Diff) String() string {
	return fmt.Sprintf("consoles: %d added %v, %d removed %v, %d changed %v, %d unchanged",
		len(d.Added), d.Added, len(d.Removed), d.Removed, len(d.Changed), d.Changed, len(d.Unchanged))
}

// sameConsole compares everything but the access lists and tags, which apply
// without a restart.
func sameConsole(a, b config.Console) bool {
	a.Access, b.Access = config.Access{}, config.Access{}
	a.Tags, b.Tags = nil, nil
	a.Session.IdleTimeout, b.Session.IdleTimeout = 0, 0 // applies to new sessions
	return reflect.DeepEqual(a, b)
}
