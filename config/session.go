package config

import (
	"time"

	"github.com/hashicorp/hcl/v2"

	"consoled/breakseq"
)

// DefaultIdleStringAfter is how long a console is silent before its
// idle_string is sent, unless idle_string_after says.
const DefaultIdleStringAfter = 10 * time.Minute

// Session are conserver's session niceties of one console.
type Session struct {
	// InitCmd is sent each time the console comes up (initcmd: text with
	// break sequence escapes, \z BREAK, \d pause, ^X control); nil: none.
	InitCmd *breakseq.Seq
	// IdleString is sent after IdleAfter without output or input.
	IdleString []byte
	IdleAfter  time.Duration
	// IdleTimeout ends an interactive session idle that long (0: the
	// global idle_timeout).
	IdleTimeout time.Duration
}

// duration reads a positive duration attribute ("30m").
func (p *parser) duration(a *hcl.Attribute, what string) time.Duration {
	var v string
	p.str(a.Expr, &v)
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.errorf(a.Expr.Range(), "Invalid duration", "%s %q: want a duration such as 30m", what, v)
		return 0
	}
	return d
}

// sessionAttr reads one of a console's session attributes.
func (p *parser) sessionAttr(c *Console, name string, a *hcl.Attribute) {
	switch name {
	case "initcmd":
		var src string
		p.str(a.Expr, &src)
		steps, err := breakseq.Parse(src)
		if err != nil {
			p.errorf(a.Expr.Range(), "Invalid initcmd", "%v", err)
			return
		}
		c.Session.InitCmd = &breakseq.Seq{Source: src, Steps: steps, Delay: breakseq.DefaultDelay}
	case "idle_string":
		var s string
		p.str(a.Expr, &s)
		c.Session.IdleString = []byte(s)
		if c.Session.IdleAfter == 0 {
			c.Session.IdleAfter = DefaultIdleStringAfter
		}
	case "idle_string_after":
		c.Session.IdleAfter = p.duration(a, "idle_string_after")
	case "idle_timeout":
		c.Session.IdleTimeout = p.duration(a, "idle_timeout")
	}
}

// sessionAttrs are the console attributes sessionAttr reads.
var sessionAttrs = []hcl.AttributeSchema{{Name: "initcmd"}, {Name: "idle_string"}, {Name: "idle_string_after"}, {Name: "idle_timeout"}}
