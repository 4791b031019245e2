package config

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// MaxNameLen bounds a console name.
const MaxNameLen = 64

// ReservedNames cannot be console names: the words `ssh console@gw WORD`
// runs as a command (a console of that name could never be attached), and
// the stems of the files consoled keeps in log_dir beside the console logs
// (audit.log, panics.jsonl).
var ReservedNames = map[string]string{
	"list": "a command", "help": "a command", "power": "a command", "break": "a command",
	"send": "a command", "who": "a command", "logs": "a command", "panics": "a command",
	"reload": "a command", "attach": "a command", "console": "a command",
	"bootdev": "a command", "sel": "a command", "web": "a command",
	"audit": "the name of consoled's audit log (log_dir/audit.log)",
}

// PanicsFile is the list of crashes, in log_dir.
const PanicsFile = "panics.jsonl"

// ValidName reports whether s may name a console: 1 to MaxNameLen of
// letters, digits, '.', '-' and '_', starting with a letter or digit, so
// that it is safe as a file name and as an SSH argument.
func ValidName(s string) bool {
	if s == "" || len(s) > MaxNameLen || s[0] == '-' || s[0] == '.' || s[0] == '_' {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}

// checkName refuses a console name that is unsafe or reserved.
func (p *parser) checkName(name string, rng hcl.Range) bool {
	if !ValidName(name) {
		p.errorf(rng, "Invalid console name", "%q: use 1 to %d letters, digits, '.', '-' and '_', starting with a letter or digit", name, MaxNameLen)
		return false
	}
	if why, ok := ReservedNames[strings.ToLower(name)]; ok {
		p.errorf(rng, "Reserved console name", "%q is %s; reserved: %s", name, why, strings.Join(reservedList(), ", "))
		return false
	}
	return true
}

func reservedList() []string {
	var l []string
	for n := range ReservedNames {
		l = append(l, n)
	}
	sort.Strings(l)
	return l
}

// ownFile is a file consoled itself writes.
type ownFile struct {
	path, what string
	rng        *hcl.Range // the setting that names it, if the config does
}

// checkOwnFiles refuses consoles whose log files (log_dir/NAME.log and
// every log_dir/NAME.log.* beside it: index, rotations) would be one of
// consoled's own files: viewers of the console would read it, rotation
// would move it away.
func (p *parser) checkOwnFiles(cfg *Config, consoleRanges map[string]hcl.Range, auditRange *hcl.Range) {
	own := []ownFile{
		{path: cfg.AuditLog, what: "the audit log (audit_log)", rng: auditRange},
		{path: filepath.Join(cfg.LogDir, PanicsFile), what: "the list of crashes"},
	}
	kept := cfg.Consoles[:0]
	for _, c := range cfg.Consoles {
		clash := false
		for _, f := range own {
			if !ConsoleFile(cfg.LogDir, c.Name, f.path) {
				continue
			}
			clash = true
			rng := consoleRanges[c.Name]
			p.errorf(rng, "Console log collides with a file of consoled", "console %q logs to %s, and %s is %s; rename the console", c.Name,
				filepath.Join(cfg.LogDir, c.Name+".log*"), f.path, f.what)
			if f.rng != nil {
				p.errorf(*f.rng, "Console log collides with a file of consoled", "%s is %s, inside console %q's log files; choose another path", f.path, f.what, c.Name)
			}
		}
		if !clash {
			kept = append(kept, c)
		}
	}
	cfg.Consoles = kept
}

// ConsoleFile reports whether path is one of console name's log files in
// logDir: NAME.log or NAME.log.<anything> (index, rotations).
func ConsoleFile(logDir, name, path string) bool {
	if filepath.Clean(filepath.Dir(path)) != filepath.Clean(logDir) {
		return false
	}
	base := filepath.Base(path)
	stem := name + ".log"
	return base == stem || strings.HasPrefix(base, stem+".")
}

// tags reads a console's tags = [...]: each a valid name (as a console
// name: letters, digits, '.', '-', '_'), so that @tag reads back.
func (p *parser) tags(a *hcl.Attribute) []string {
	var tags []string
	p.strList(a.Expr, &tags)
	for _, t := range tags {
		if !ValidName(t) {
			p.errorf(a.Expr.Range(), "Invalid tag", "%q: use 1 to %d letters, digits, '.', '-' and '_', starting with a letter or digit", t, MaxNameLen)
		}
	}
	return tags
}
