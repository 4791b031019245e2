package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Access lists of a console, resolved to user names. When a console has
// neither rw nor ro, every configured user may read and write it.
type Access struct {
	Open bool            // no rw/ro lists: everyone configured has rw
	RW   map[string]bool // may type, BREAK, power, take over
	RO   map[string]bool // may watch and read logs
}

// BreakSeq is a named break sequence (^Ecl1 .. ^Ecl9, `break --seq N`),
// conserver style: "\z" is a BREAK, "\d" a pause of Delay, "^X" a control
// character, "\r" "\n" "\t" "\\" and "\ooo" (octal) as in C.
type BreakSeq struct {
	Source string // as written, for listing
	Steps  []BreakStep
	Delay  time.Duration
}

// BreakStep is one step of a break sequence: bytes to send, a BREAK, or a pause.
type BreakStep struct {
	Data  []byte
	Break bool
	Pause bool
}

// DefaultBreaks are conserver's: 1 a BREAK, 2 Sun's alternate break, 3 a
// common ROM monitor escape, 4 Sun's alternate break for the RSC/ALOM.
var DefaultBreaks = map[int]string{1: `\z`, 2: `\r~^b`, 3: `#.`, 4: `\r\d~\d^b`}

// ParseBreakSeq parses a break sequence.
func ParseBreakSeq(s string) ([]BreakStep, error) {
	var steps []BreakStep
	var data []byte
	flush := func() {
		if len(data) > 0 {
			steps = append(steps, BreakStep{Data: data})
			data = nil
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '^' && i+1 < len(s):
			i++
			if s[i] == '?' {
				data = append(data, 0x7f)
			} else {
				data = append(data, s[i]&0x1f)
			}
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'z':
				flush()
				steps = append(steps, BreakStep{Break: true})
			case 'd':
				flush()
				steps = append(steps, BreakStep{Pause: true})
			case 'r':
				data = append(data, '\r')
			case 'n':
				data = append(data, '\n')
			case 't':
				data = append(data, '\t')
			case 'b':
				data = append(data, '\b')
			case 'a':
				data = append(data, '\a')
			case 'f':
				data = append(data, '\f')
			case 'v':
				data = append(data, '\v')
			case '\\', '^':
				data = append(data, e)
			default:
				if e >= '0' && e <= '7' {
					j := i
					for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
						j++
					}
					v, _ := strconv.ParseUint(s[i:j], 8, 8)
					data = append(data, byte(v))
					i = j - 1
					continue
				}
				return nil, fmt.Errorf("break sequence %q: unknown escape \\%c", s, e)
			}
		default:
			data = append(data, c)
		}
	}
	flush()
	if len(steps) == 0 {
		return nil, fmt.Errorf("break sequence %q is empty", s)
	}
	return steps, nil
}

var (
	groupSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "members", Required: true}}}
	breakSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "sequence", Required: true}, {Name: "delay"}}}
)

func (p *parser) group(b *hcl.Block) []string {
	content, diags := b.Body.Content(groupSchema)
	p.diags = append(p.diags, diags...)
	var members []string
	if a, ok := content.Attributes["members"]; ok {
		p.strList(a.Expr, &members)
	}
	return members
}

func (p *parser) breakSeq(b *hcl.Block) (int, BreakSeq, bool) {
	n, err := strconv.Atoi(b.Labels[0])
	if err != nil || n < 1 || n > 9 {
		p.errorf(b.LabelRanges[0], "Invalid break name", "break sequences are named \"1\" to \"9\" (^Ecl1 .. ^Ecl9)")
		return 0, BreakSeq{}, false
	}
	content, diags := b.Body.Content(breakSchema)
	p.diags = append(p.diags, diags...)
	bs := BreakSeq{Delay: 600 * time.Millisecond}
	if a, ok := content.Attributes["sequence"]; ok {
		p.str(a.Expr, &bs.Source)
		steps, err := ParseBreakSeq(bs.Source)
		if err != nil {
			p.errorf(a.Expr.Range(), "Invalid break sequence", "%v", err)
			return 0, bs, false
		}
		bs.Steps = steps
	}
	if a, ok := content.Attributes["delay"]; ok {
		var d string
		p.str(a.Expr, &d)
		dur, err := time.ParseDuration(d)
		if err != nil || dur < 0 || dur > time.Minute {
			p.errorf(a.Expr.Range(), "Invalid delay", "%q: want a duration such as \"600ms\"", d)
		}
		bs.Delay = dur
	}
	return n, bs, true
}

// resolveAccess turns rw/ro principals ("alice", "group:ops", "*") into
// user sets, checking that every name exists.
func (p *parser) resolveAccess(cfg *Config, groups map[string][]string, raw map[string][2]principals) {
	users := map[string]bool{}
	for _, u := range cfg.Users {
		users[u.Name] = true
	}
	expand := func(pl principals, into map[string]bool) {
		for _, name := range pl.names {
			switch {
			case name == "*":
				for u := range users {
					into[u] = true
				}
			case strings.HasPrefix(name, "group:"):
				g, ok := groups[strings.TrimPrefix(name, "group:")]
				if !ok {
					p.errorf(pl.rng, "Unknown group", "%q is not defined (group \"NAME\" { members = [...] })", name)
					continue
				}
				for _, m := range g {
					into[m] = true
				}
			case users[name]:
				into[name] = true
			default:
				p.errorf(pl.rng, "Unknown user", "%q is not a configured user", name)
			}
		}
	}
	for gname, members := range groups {
		for _, m := range members {
			if !users[m] {
				p.errorf(cfg.groupRanges[gname], "Unknown user", "group %q lists %q, which is not a configured user", gname, m)
			}
		}
	}
	for i := range cfg.Consoles {
		c := &cfg.Consoles[i]
		lists, ok := raw[c.Name]
		c.Access = Access{Open: !ok, RW: map[string]bool{}, RO: map[string]bool{}}
		if !ok {
			continue
		}
		expand(lists[0], c.Access.RW)
		expand(lists[1], c.Access.RO)
		for u := range c.Access.RW {
			delete(c.Access.RO, u) // rw wins
		}
	}
}

// principals is an rw or ro list as written, with its range for messages.
type principals struct {
	names []string
	rng   hcl.Range
}
