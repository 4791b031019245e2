package config

import (
	"path/filepath"
	"regexp"

	"github.com/hashicorp/hcl/v2"

	"consoled/breakseq"
)

var rootSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "listen"}, {Name: "host_key"}, {Name: "log_dir"}, {Name: "escape"}, {Name: "audit_log"},
		{Name: "max_total"}, {Name: "panic_patterns"}, {Name: "replay_lines"}, {Name: "admins"}, {Name: "metrics_listen"},
		{Name: "trusted_user_ca_keys"}, {Name: "trusted_user_ca_keys_file"}, {Name: "revoked_keys_file"},
		{Name: "bmc_event_poll"}, {Name: "motd"}, {Name: "idle_timeout"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "user", LabelNames: []string{"name"}},
		{Type: "group", LabelNames: []string{"name"}},
		{Type: "break", LabelNames: []string{"name"}},
		{Type: "console", LabelNames: []string{"name"}},
		{Type: "on_panic"},
		{Type: "on_bmc_event"},
		{Type: "cluster"},
		{Type: "web"},
	},
}

// root reads the top level: its settings, then its blocks, then what
// needs them all (access lists resolved against users and groups, admins
// known, consoled's own files apart from the consoles' logs).
func (p *parser) root(body hcl.Body) *Config {
	cfg := &Config{Listen: DefaultListen, HostKey: DefaultHostKey, LogDir: DefaultLogDir, BMCEventPoll: DefaultBMCEventPoll}
	content, diags := body.Content(rootSchema)
	p.diags = append(p.diags, diags...)
	if content == nil {
		return cfg
	}
	r := p.settings(cfg, content.Attributes)
	p.settle(cfg, r)
	b := p.blocks(cfg, content.Blocks)
	p.checkOwnFiles(cfg, b.consoles, r.audit)
	p.resolveAccess(cfg, b.groups, b.access)
	p.checkAdmins(cfg, r.admins)
	p.checkPlacement(cfg, b.consoles, b.gateways)
	return cfg
}

// settingRanges are where settings checked later were given.
type settingRanges struct {
	escape           string // the escape as given; DefaultEscape if not
	escRange, admins hcl.Range
	audit            *hcl.Range // nil: audit_log not given
}

// settings reads the top-level attributes into cfg.
func (p *parser) settings(cfg *Config, attrs hcl.Attributes) settingRanges {
	r := settingRanges{escape: DefaultEscape}
	for name, a := range attrs {
		switch name {
		case "listen":
			p.str(a.Expr, &cfg.Listen)
			p.checkAddress(a.Expr.Range(), "listen", cfg.Listen, listenPort, "tcp")
		case "host_key":
			p.str(a.Expr, &cfg.HostKey)
		case "log_dir":
			p.str(a.Expr, &cfg.LogDir)
		case "escape":
			p.str(a.Expr, &r.escape)
			r.escRange = a.Expr.Range()
		case "audit_log":
			p.str(a.Expr, &cfg.AuditLog)
			rng := a.Expr.Range()
			r.audit = &rng
		case "max_total":
			var v string
			p.str(a.Expr, &v)
			n, err := ParseSize(v)
			if err != nil {
				p.errorf(a.Expr.Range(), "Invalid size", "%v", err)
			}
			cfg.MaxTotal = n
		case "admins":
			p.strList(a.Expr, &cfg.Admins)
			r.admins = a.Expr.Range()
		case "metrics_listen":
			p.str(a.Expr, &cfg.MetricsListen)
			if cfg.MetricsListen != "" {
				p.checkAddress(a.Expr.Range(), "metrics_listen", cfg.MetricsListen, listenPort, "tcp")
			}
		case "replay_lines":
			p.intRange(a.Expr, &cfg.ReplayLines, 0, 1000)
		case "panic_patterns":
			p.panicPatterns(cfg, a)
		case "bmc_event_poll":
			p.bmcEventPoll(cfg, a)
		case "motd":
			p.str(a.Expr, &cfg.Motd)
		case "idle_timeout":
			cfg.IdleTimeout = p.duration(a, "idle_timeout")
		case "trusted_user_ca_keys", "trusted_user_ca_keys_file", "revoked_keys_file":
			p.certSetting(cfg, name, a)
		}
	}
	return r
}

func (p *parser) panicPatterns(cfg *Config, a *hcl.Attribute) {
	var pats []string
	p.strList(a.Expr, &pats)
	for _, pat := range pats {
		re, err := regexp.Compile(pat)
		if err != nil {
			p.errorf(a.Expr.Range(), "Invalid pattern", "%q: %v", pat, err)
			continue
		}
		cfg.PanicPatterns = append(cfg.PanicPatterns, re)
	}
}

// settle completes the settings: paths made absolute, the audit log's
// default, the escape parsed, the default break sequences.
func (p *parser) settle(cfg *Config, r settingRanges) {
	cfg.HostKey, cfg.LogDir = p.path(cfg.HostKey), p.path(cfg.LogDir)
	if cfg.AuditLog == "" {
		cfg.AuditLog = filepath.Join(cfg.LogDir, "audit.log")
	}
	cfg.AuditLog = p.path(cfg.AuditLog)
	cfg.Breaks = map[int]breakseq.Seq{}
	for n, src := range breakseq.Defaults {
		steps, _ := breakseq.Parse(src)
		cfg.Breaks[n] = breakseq.Seq{Source: src, Steps: steps, Delay: breakseq.DefaultDelay}
	}
	esc, err := ParseEscape(r.escape)
	if err != nil {
		p.errorf(r.escRange, "Invalid escape", "%v", err)
	}
	cfg.Escape = esc
}

// blocksRead is what the blocks leave for the checks that need them all.
type blocksRead struct {
	groups   map[string][]string
	access   map[string][2]principals // console -> its rw and ro lists
	consoles map[string]hcl.Range     // console -> where it is named
	gateways map[string]hcl.Range     // console -> its gateway attribute, if pinned
}

// blocks reads the user, group, break, console and on_panic blocks.
func (p *parser) blocks(cfg *Config, blocks hcl.Blocks) blocksRead {
	b := blocksRead{groups: map[string][]string{}, access: map[string][2]principals{}, consoles: map[string]hcl.Range{},
		gateways: map[string]hcl.Range{}}
	cfg.groupRanges = map[string]hcl.Range{}
	seenUser := map[string]hcl.Range{}
	seenDevice := map[string]string{}
	for _, blk := range blocks {
		var name string
		var nameRange hcl.Range
		if len(blk.Labels) > 0 {
			name, nameRange = blk.Labels[0], blk.LabelRanges[0]
		}
		switch blk.Type {
		case "user":
			if prev, dup := seenUser[name]; dup {
				p.errorf(nameRange, "Duplicate user", "user %q is already defined at %s", name, prev)
				continue
			}
			seenUser[name] = nameRange
			cfg.Users = append(cfg.Users, p.user(blk))
		case "on_panic":
			p.onPanic(cfg, blk)
		case "on_bmc_event":
			p.onBMCEvent(cfg, blk)
		case "cluster":
			p.cluster(cfg, blk)
		case "web":
			p.web(cfg, blk)
		case "group":
			if _, dup := b.groups[name]; dup {
				p.errorf(nameRange, "Duplicate group", "group %q is already defined", name)
				continue
			}
			b.groups[name] = p.group(cfg, name, blk)
			cfg.groupRanges[name] = blk.DefRange
		case "break":
			if n, bs, ok := p.breakSeq(blk); ok {
				cfg.Breaks[n] = bs
			}
		case "console":
			if prev, dup := b.consoles[name]; dup {
				p.errorf(nameRange, "Duplicate console", "console %q is already defined at %s", name, prev)
				continue
			}
			b.consoles[name] = nameRange
			if !p.checkName(name, nameRange) {
				continue
			}
			if lists, ok := p.accessLists(blk); ok {
				b.access[name] = lists
			}
			if c, ok := p.console(blk); ok {
				if rng, pinned := p.gatewayAttr(blk, &c); pinned {
					b.gateways[name] = rng
				}
				if c.Serial != nil {
					if prev, dup := seenDevice[c.Serial.Device]; dup {
						p.errorf(nameRange, "Device used twice", "console %q uses %s, which console %s already uses", name, c.Serial.Device, prev)
						continue
					}
					seenDevice[c.Serial.Device] = name
				}
				cfg.Consoles = append(cfg.Consoles, c)
			}
		}
	}
	return b
}

func (p *parser) onPanic(cfg *Config, blk *hcl.Block) {
	content, diags := blk.Body.Content(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "command", Required: true}}})
	p.diags = append(p.diags, diags...)
	if a, ok := content.Attributes["command"]; ok {
		p.strList(a.Expr, &cfg.OnPanic)
		p.checkCommand(a.Expr.Range(), "on_panic", cfg.OnPanic)
	}
}

// checkAdmins: every admin is a configured user.
func (p *parser) checkAdmins(cfg *Config, rng hcl.Range) {
	known := map[string]bool{}
	for _, u := range cfg.Users {
		known[u.Name] = true
	}
	for _, a := range cfg.Admins {
		if !known[a] && !cfg.CertsTrusted() {
			p.errorf(rng, "Unknown user", "admin %q is not a configured user", a)
		}
	}
}

// accessLists reads a console's rw and ro attributes, if it has any.
func (p *parser) accessLists(b *hcl.Block) ([2]principals, bool) {
	content, _, _ := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "rw"}, {Name: "ro"}}})
	var lists [2]principals
	found := false
	for i, name := range []string{"rw", "ro"} {
		if a, ok := content.Attributes[name]; ok {
			found = true
			lists[i].rng = a.Expr.Range()
			p.strList(a.Expr, &lists[i].names)
		}
	}
	return lists, found
}
