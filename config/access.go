package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"consoled/breakseq"
)

// Access lists of a console, resolved to user names. When a console has
// neither rw nor ro, every configured user may read and write it.
type Access struct {
	Open bool            // no rw/ro lists: everyone configured has rw
	RW   map[string]bool // may type, BREAK, power, take over
	RO   map[string]bool // may watch and read logs
	// The groups and "*" named in the lists, for certificate users whose
	// membership comes from their principals (group "G" { principals }).
	RWGroups, ROGroups map[string]bool
	RWAll, ROAll       bool
}

var (
	groupSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "members"}, {Name: "principals"}}}
	breakSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "sequence", Required: true}, {Name: "delay"}}}
)

// group reads a group's members (user names) and principals (certificate
// principals that make their holder a member); it needs one of them.
func (p *parser) group(cfg *Config, name string, b *hcl.Block) []string {
	content, diags := b.Body.Content(groupSchema)
	p.diags = append(p.diags, diags...)
	var members []string
	if a, ok := content.Attributes["members"]; ok {
		p.strList(a.Expr, &members)
	}
	a, ok := content.Attributes["principals"]
	if ok {
		var prs []string
		p.strList(a.Expr, &prs)
		if cfg.GroupPrincipals == nil {
			cfg.GroupPrincipals = map[string][]string{}
		}
		cfg.GroupPrincipals[name] = prs
	}
	if _, hasMembers := content.Attributes["members"]; !hasMembers && !ok && content != nil {
		p.errorf(b.DefRange, "Group without members", "group %q needs members = [...] (users) or principals = [...] (certificate principals)", name)
	}
	return members
}

func (p *parser) breakSeq(b *hcl.Block) (int, breakseq.Seq, bool) {
	n, err := strconv.Atoi(b.Labels[0])
	if err != nil || n < 1 || n > 9 {
		p.errorf(b.LabelRanges[0], "Invalid break name", "break sequences are named \"1\" to \"9\" (^Ecl1 .. ^Ecl9)")
		return 0, breakseq.Seq{}, false
	}
	content, diags := b.Body.Content(breakSchema)
	p.diags = append(p.diags, diags...)
	bs := breakseq.Seq{Delay: breakseq.DefaultDelay}
	if a, ok := content.Attributes["sequence"]; ok {
		p.str(a.Expr, &bs.Source)
		steps, err := breakseq.Parse(bs.Source)
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
	expand := func(pl principals, into, intoGroups map[string]bool, all *bool) {
		for _, name := range pl.names {
			switch {
			case name == "*":
				*all = true
				for u := range users {
					into[u] = true
				}
			case strings.HasPrefix(name, "group:"):
				gname := strings.TrimPrefix(name, "group:")
				g, ok := groups[gname]
				if !ok {
					p.errorf(pl.rng, "Unknown group", "%q is not defined (group \"NAME\" { members = [...] })", name)
					continue
				}
				intoGroups[gname] = true
				for _, m := range g {
					into[m] = true
				}
			case users[name], cfg.CertsTrusted():
				// With trusted CAs, a name may be a certificate principal.
				into[name] = true
			default:
				p.errorf(pl.rng, "Unknown user", "%q is not a configured user", name)
			}
		}
	}
	for gname, members := range groups {
		for _, m := range members {
			if !users[m] && !cfg.CertsTrusted() {
				p.errorf(cfg.groupRanges[gname], "Unknown user", "group %q lists %q, which is not a configured user", gname, m)
			}
		}
	}
	for i := range cfg.Consoles {
		c := &cfg.Consoles[i]
		lists, ok := raw[c.Name]
		if !ok { // open: no lists to hold (reading a nil map finds nothing)
			c.Access = Access{Open: true}
			continue
		}
		c.Access = Access{RW: map[string]bool{}, RO: map[string]bool{}, RWGroups: map[string]bool{}, ROGroups: map[string]bool{}}
		expand(lists[0], c.Access.RW, c.Access.RWGroups, &c.Access.RWAll)
		expand(lists[1], c.Access.RO, c.Access.ROGroups, &c.Access.ROAll)
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
