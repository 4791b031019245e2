package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	gossh "golang.org/x/crypto/ssh"

	"consoled/authkeys"
)

var userSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "keys"}, {Name: "keys_file"}},
}

func (p *parser) user(b *hcl.Block) User {
	u := User{Name: b.Labels[0]}
	content, diags := b.Body.Content(userSchema)
	p.diags = append(p.diags, diags...)
	if a, ok := content.Attributes["keys"]; ok {
		var keys []string
		p.strList(a.Expr, &keys)
		for _, k := range keys {
			key, err := authkeys.Parse(k)
			if err != nil {
				p.errorf(a.Expr.Range(), "Invalid public key", "user %q: %q: %v", u.Name, abbrev(k), err)
				continue
			}
			p.ownKey(u.Name, key, a.Expr.Range())
			u.Keys = append(u.Keys, key)
		}
	}
	if a, ok := content.Attributes["keys_file"]; ok {
		var file string
		p.str(a.Expr, &file)
		keys, err := ReadAuthorizedKeys(p.path(file))
		var le *authkeys.LineError
		switch {
		case errors.As(err, &le):
			// The subject is the refused line of the keys file itself.
			r := hcl.Range{Filename: le.Path, Start: hcl.Pos{Line: le.Line, Column: 1}, End: hcl.Pos{Line: le.Line, Column: 1}}
			p.errorf(r, "Invalid public key", "%v (keys_file of user %q at %s)", le.Err, u.Name, a.Expr.Range())
		case err != nil:
			p.errorf(a.Expr.Range(), "Cannot read keys_file", "user %q: %v", u.Name, err)
		}
		for _, key := range keys {
			p.ownKey(u.Name, key, a.Expr.Range())
		}
		u.Keys = append(u.Keys, keys...)
	}
	return u
}

// ownKey refuses a key listed for two users (it could not say who logs
// in), at the second listing; rng is where user lists it.
func (p *parser) ownKey(user string, key authkeys.Key, rng hcl.Range) {
	p.warnExpired(user, key, rng)
	if p.keys == nil {
		p.keys = map[string]keyPlace{}
	}
	w := string(key.Marshal())
	first, dup := p.keys[w]
	switch {
	case !dup:
		p.keys[w] = keyPlace{user: user, at: rng}
	case first.user != user:
		where := ""
		if key.Where != "" {
			where = " (" + key.Where + ")"
		}
		p.errorf(rng, "Key of two users", "user %q lists key %s%s, which user %q lists at %s: a key must say who logs in",
			user, gossh.FingerprintSHA256(key), where, first.user, first.at)
	}
}

// warnExpired warns about a key whose expiry-time has passed: it can no
// longer log in, which is likely not what the config means.
func (p *parser) warnExpired(user string, key authkeys.Key, rng hcl.Range) {
	if key.Expires.IsZero() || !time.Now().After(key.Expires) {
		return
	}
	where := ""
	if key.Where != "" {
		where = " (" + key.Where + ")"
	}
	r := rng
	p.diags = append(p.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Expired key",
		Detail: fmt.Sprintf("user %q: key %s%s expired at %s (expiry-time): it can no longer log in",
			user, gossh.FingerprintSHA256(key), where, key.Expires.UTC().Format(time.RFC3339)), Subject: &r})
}

// ReadAuthorizedKeys parses a file in OpenSSH authorized_keys format
// (comments and blank lines allowed). Key options are honoured or refused
// as package authkeys describes; an error names the file and line.
func ReadAuthorizedKeys(path string) ([]authkeys.Key, error) {
	return authkeys.ReadFile(path)
}

func abbrev(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}

var consoleSchema = &hcl.BodySchema{
	Attributes: append([]hcl.AttributeSchema{{Name: "rw"}, {Name: "ro"}, {Name: "tags"}, {Name: "gateway"}}, sessionAttrs...),
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "telnet"}, {Type: "exec"}, {Type: "serial"}, {Type: "ipmi"}, {Type: "demo"}, {Type: "log"}, {Type: "power"},
	},
}

var (
	telnetSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "address", Required: true}}}
	execSchema   = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "command", Required: true}, {Name: "dir"}, {Name: "break"}, {Name: "rows"}, {Name: "cols"},
	}}
	serialSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "device", Required: true}, {Name: "baud"}, {Name: "data_bits"}, {Name: "parity"},
		{Name: "stop_bits"}, {Name: "flow"}, {Name: "break_ms"},
	}}
	ipmiSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "address", Required: true}, {Name: "user", Required: true}, {Name: "password"}, {Name: "password_file"},
		{Name: "cipher_suite"}, {Name: "privilege"}, {Name: "steal"},
	}}
	powerSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "ipmi"}}}
	logSchema   = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "max_size"}, {Name: "keep"}}}
)

func (p *parser) console(b *hcl.Block) (Console, bool) {
	c := Console{Name: b.Labels[0], Log: LogOptions{MaxSize: DefaultMaxSize, Keep: DefaultKeep}}
	content, diags := b.Body.Content(consoleSchema)
	p.diags = append(p.diags, diags...)
	if content == nil {
		return c, false
	}
	if a, ok := content.Attributes["tags"]; ok {
		c.Tags = p.tags(a)
	}
	for _, s := range sessionAttrs {
		if a, ok := content.Attributes[s.Name]; ok {
			p.sessionAttr(&c, s.Name, a)
		}
	}
	if c.Session.IdleString == nil && c.Session.IdleAfter > 0 {
		p.errorf(b.DefRange, "idle_string_after without idle_string", "console %q: idle_string_after says when to send idle_string, which is not set", c.Name)
	}
	var backendRange *hcl.Range
	for _, sb := range content.Blocks {
		if sb.Type == "log" {
			p.logOpts(sb, &c.Log)
			continue
		}
		if sb.Type == "power" {
			c.Power = p.power(sb)
			continue
		}
		if backendRange != nil {
			p.errorf(sb.DefRange, "More than one backend", "console %q already has a backend at %s; a console has exactly one of telnet, serial, ipmi, exec, demo", c.Name, backendRange)
			continue
		}
		r := sb.DefRange
		backendRange = &r
		c.Kind = sb.Type
		switch sb.Type {
		case "telnet":
			c.Telnet = p.telnet(sb)
		case "exec":
			c.Exec = p.exec(sb)
		case "serial":
			c.Serial = p.serial(sb)
		case "ipmi":
			c.IPMI = p.ipmi(sb, true)
			if c.Power == nil {
				c.Power = c.IPMI
			}
		case "demo":
			_, d := sb.Body.Content(&hcl.BodySchema{})
			p.diags = append(p.diags, d...)
			c.Demo = &Demo{}
		}
	}
	if backendRange == nil {
		p.errorf(b.DefRange, "Console without a backend", "console %q needs one of: telnet { address = \"host:port\" }, serial { device = \"/dev/ttyS0\" }, ipmi { address = ... }, exec { command = [...] }, demo {}", c.Name)
		return c, false
	}
	return c, true
}

func (p *parser) telnet(b *hcl.Block) *Telnet {
	t := &Telnet{}
	content, diags := b.Body.Content(telnetSchema)
	p.diags = append(p.diags, diags...)
	if a, ok := content.Attributes["address"]; ok {
		p.str(a.Expr, &t.Address)
		p.checkAddress(a.Expr.Range(), "telnet address", t.Address, dialPort, "tcp")
	}
	return t
}

func (p *parser) exec(b *hcl.Block) *Exec {
	e := &Exec{}
	content, diags := b.Body.Content(execSchema)
	p.diags = append(p.diags, diags...)
	for name, a := range content.Attributes {
		switch name {
		case "command":
			p.strList(a.Expr, &e.Command)
			if len(e.Command) == 0 || e.Command[0] == "" {
				p.errorf(a.Expr.Range(), "Empty command", "exec needs a command, e.g. [\"ssh\", \"-tt\", \"admin@sw1\"]")
			}
			p.checkCommand(a.Expr.Range(), "exec command", e.Command)
		case "dir":
			p.str(a.Expr, &e.Dir)
			e.Dir = p.path(e.Dir)
		case "break":
			var s string
			p.str(a.Expr, &s)
			e.Break = []byte(s)
		case "rows":
			p.intRange(a.Expr, &e.Rows, 1, 1000)
		case "cols":
			p.intRange(a.Expr, &e.Cols, 1, 1000)
		}
	}
	return e
}

func (p *parser) serial(b *hcl.Block) *Serial {
	s := &Serial{Baud: 9600, DataBits: 8, Parity: "none", StopBits: 1, Flow: "none", BreakMs: 250}
	content, diags := b.Body.Content(serialSchema)
	p.diags = append(p.diags, diags...)
	for name, a := range content.Attributes {
		switch name {
		case "device":
			p.str(a.Expr, &s.Device)
			s.Device = p.path(s.Device)
		case "baud":
			p.intRange(a.Expr, &s.Baud, 50, 20000000)
		case "data_bits":
			p.intRange(a.Expr, &s.DataBits, 5, 8)
		case "parity":
			p.oneOf(a.Expr, &s.Parity, "none", "even", "odd", "mark", "space")
		case "flow":
			p.oneOf(a.Expr, &s.Flow, "none", "rtscts", "xonxoff")
		case "stop_bits":
			v := p.value(a.Expr, cty.Number)
			if v == cty.NilVal {
				continue
			}
			f, _ := v.AsBigFloat().Float64()
			if f != 1 && f != 1.5 && f != 2 {
				p.errorf(a.Expr.Range(), "Invalid stop_bits", "want 1, 1.5 or 2")
				continue
			}
			s.StopBits = f
		case "break_ms":
			p.intRange(a.Expr, &s.BreakMs, 1, 10000)
		}
	}
	return s
}

func (p *parser) power(b *hcl.Block) *IPMI {
	content, diags := b.Body.Content(powerSchema)
	p.diags = append(p.diags, diags...)
	if len(content.Blocks) != 1 {
		p.errorf(b.DefRange, "Invalid power block", "power needs exactly one ipmi { address = ..., user = ..., password_file = ... } block")
		return nil
	}
	return p.ipmi(content.Blocks[0], false)
}

func (p *parser) ipmi(b *hcl.Block, sol bool) *IPMI {
	m := &IPMI{CipherSuite: 3, Privilege: "admin"}
	content, diags := b.Body.Content(ipmiSchema)
	p.diags = append(p.diags, diags...)
	var havePassword bool
	for name, a := range content.Attributes {
		switch name {
		case "address":
			p.str(a.Expr, &m.Address)
			p.checkAddress(a.Expr.Range(), "ipmi address", m.Address, optionalPort, "udp")
		case "user":
			p.str(a.Expr, &m.User)
		case "password":
			p.str(a.Expr, &m.Password)
			havePassword = true
			p.warnReadable(a.Expr.Range())
		case "password_file":
			var f string
			p.str(a.Expr, &f)
			data, err := os.ReadFile(p.path(f))
			if err != nil {
				p.errorf(a.Expr.Range(), "Cannot read password_file", "%v", err)
				continue
			}
			m.Password = strings.TrimRight(string(data), "\r\n")
			havePassword = true
		case "cipher_suite":
			p.intRange(a.Expr, &m.CipherSuite, 0, 17)
		case "privilege":
			p.oneOf(a.Expr, &m.Privilege, "admin", "operator")
		case "steal":
			v := p.value(a.Expr, cty.Bool)
			if v != cty.NilVal {
				m.Steal = v.True()
			}
			if !sol {
				p.errorf(a.Expr.Range(), "Invalid argument", "steal applies to an ipmi console (SOL), not to power control")
			}
		}
	}
	if !havePassword {
		p.errorf(b.DefRange, "Missing password", "ipmi needs password_file = \"...\" (or password = \"...\")")
	}
	return m
}

// oneOf evaluates a string that must be one of choices.
func (p *parser) oneOf(expr hcl.Expression, dst *string, choices ...string) {
	var v string
	p.str(expr, &v)
	for _, c := range choices {
		if v == c {
			*dst = v
			return
		}
	}
	p.errorf(expr.Range(), "Invalid value", "%q: want one of %s", v, strings.Join(choices, ", "))
}

func (p *parser) logOpts(b *hcl.Block, o *LogOptions) {
	content, diags := b.Body.Content(logSchema)
	p.diags = append(p.diags, diags...)
	if a, ok := content.Attributes["max_size"]; ok {
		var s string
		p.str(a.Expr, &s)
		n, err := ParseSize(s)
		switch {
		case err != nil:
			p.errorf(a.Expr.Range(), "Invalid size", "%v", err)
		case n < 4096:
			p.errorf(a.Expr.Range(), "Invalid size", "max_size %q is below the minimum of 4KiB", s)
		default:
			o.MaxSize = n
		}
	}
	if a, ok := content.Attributes["keep"]; ok {
		p.intRange(a.Expr, &o.Keep, 0, 1000)
	}
}

// str evaluates a constant string expression into dst.
func (p *parser) str(expr hcl.Expression, dst *string) {
	v := p.value(expr, cty.String)
	if v != cty.NilVal {
		*dst = v.AsString()
	}
}

func (p *parser) strList(expr hcl.Expression, dst *[]string) {
	v := p.value(expr, cty.List(cty.String))
	if v == cty.NilVal {
		return
	}
	for _, e := range v.AsValueSlice() {
		if e.IsNull() {
			p.errorf(expr.Range(), "Invalid value", "list elements must be strings, not null")
			return
		}
		*dst = append(*dst, e.AsString())
	}
}

func (p *parser) intRange(expr hcl.Expression, dst *int, lo, hi int) {
	v := p.value(expr, cty.Number)
	if v == cty.NilVal {
		return
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || n < int64(lo) || n > int64(hi) {
		p.errorf(expr.Range(), "Invalid number", "want a whole number from %d to %d", lo, hi)
		return
	}
	*dst = int(n)
}

// value evaluates expr with no variables and converts it to ty; on failure
// it records a diagnostic and returns cty.NilVal.
func (p *parser) value(expr hcl.Expression, ty cty.Type) cty.Value {
	v, diags := expr.Value(nil)
	p.diags = append(p.diags, diags...)
	if diags.HasErrors() {
		return cty.NilVal
	}
	cv, err := convert.Convert(v, ty)
	if err != nil || cv.IsNull() || !cv.IsWhollyKnown() {
		msg := "null"
		if err != nil {
			msg = err.Error()
		}
		p.errorf(expr.Range(), "Invalid value", "want %s: %s", ty.FriendlyName(), msg)
		return cty.NilVal
	}
	return cv
}
