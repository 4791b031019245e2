// Package cmdargs parses the command lines of consoled's SSH subcommands
// (and their offline twins): positional arguments and --options in any order.
package cmdargs

import (
	"fmt"
	"strings"
)

// Args are a command line split into positional arguments and options.
type Args struct {
	Pos   []string
	Flags map[string]string
}

// Parse reads args; valued names take a value ("--wait 5s" or
// "--wait=5s"), bool names none. Unknown options are an error. A valued
// name ending in "..." is greedy: its value runs up to the next --option,
// since ssh joins the remote command with spaces and a quoted
// --expect 'Kernel panic' arrives as two words.
func Parse(args []string, valued, bools []string) (Args, error) {
	return ParseUntil(args, valued, bools, -1)
}

// ParseUntil is Parse, except that once n positional arguments have been
// read the rest are taken verbatim, dashes and all (send NAME TEXT...).
// n < 0 means no limit.
func ParseUntil(args []string, valued, bools []string, n int) (Args, error) {
	a := Args{Flags: map[string]string{}}
	isIn := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			a.Pos = append(a.Pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			a.Pos = append(a.Pos, arg)
			if len(a.Pos) == n {
				a.Pos = append(a.Pos, args[i+1:]...)
				break
			}
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		switch {
		case isIn(valued, name) || isIn(valued, name+"..."):
			if !hasVal {
				if i+1 >= len(args) {
					return a, fmt.Errorf("%s needs a value", arg)
				}
				i++
				val = args[i]
			}
			if isIn(valued, name+"...") {
				for i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
					i++
					val += " " + args[i]
				}
			}
			a.Flags[name] = val
		case isIn(bools, name) && !hasVal:
			a.Flags[name] = "true"
		default:
			return a, fmt.Errorf("unknown option %s", arg)
		}
	}
	return a, nil
}
