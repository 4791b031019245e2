package config

import (
	"errors"
	"os"

	"github.com/hashicorp/hcl/v2"

	"consoled/authkeys"
)

// certSettings reads trusted_user_ca_keys, trusted_user_ca_keys_file and
// revoked_keys_file (read now: a reload reads the revocations again).
func (p *parser) certSetting(cfg *Config, name string, a *hcl.Attribute) {
	switch name {
	case "trusted_user_ca_keys":
		var keys []string
		p.strList(a.Expr, &keys)
		for _, k := range keys {
			ca, err := authkeys.ParseCAKey(k)
			if err != nil {
				p.errorf(a.Expr.Range(), "Invalid CA key", "%q: %v", abbrev(k), err)
				continue
			}
			cfg.UserCAs = append(cfg.UserCAs, ca)
		}
	case "trusted_user_ca_keys_file":
		var file string
		p.str(a.Expr, &file)
		data, err := os.ReadFile(p.path(file))
		if err != nil {
			p.errorf(a.Expr.Range(), "Cannot read trusted_user_ca_keys_file", "%v", err)
			return
		}
		keys, err := authkeys.ReadCAKeys(p.path(file), data)
		if err != nil {
			p.lineError(a, "Invalid CA key", err)
			return
		}
		cfg.UserCAs = append(cfg.UserCAs, keys...)
	case "revoked_keys_file":
		p.str(a.Expr, &cfg.RevokedKeysFile)
		cfg.RevokedKeysFile = p.path(cfg.RevokedKeysFile)
		rev, err := authkeys.ReadRevocations(cfg.RevokedKeysFile)
		if err != nil {
			p.lineError(a, "Cannot read revoked_keys_file", err)
			return
		}
		cfg.Revoked = rev
	}
}

// lineError reports err at the line of a file it names, or at a.
func (p *parser) lineError(a *hcl.Attribute, summary string, err error) {
	var le *authkeys.LineError
	if errors.As(err, &le) {
		r := hcl.Range{Filename: le.Path, Start: hcl.Pos{Line: le.Line, Column: 1}, End: hcl.Pos{Line: le.Line, Column: 1}}
		p.errorf(r, summary, "%v (given at %s)", le.Err, a.Expr.Range())
		return
	}
	p.errorf(a.Expr.Range(), summary, "%v", err)
}

// CertsTrusted reports whether user certificates may log in.
func (c *Config) CertsTrusted() bool { return len(c.UserCAs) > 0 }
