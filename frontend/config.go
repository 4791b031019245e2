package frontend

import (
	"time"

	gossh "golang.org/x/crypto/ssh"

	"consoled/config"
)

// PolicyFrom is the policy a configuration sets: its users and their keys,
// the consoles' rw and ro lists, break sequences, escape, replay and
// admins, and the consoles' tags. It holds little per console: one map
// from each console to its lists in cfg (shared by the key and the
// certificate answers), and entries only for the consoles whose tags,
// idle timeout or screen size are not the default.
func PolicyFrom(cfg *config.Config) Policy {
	keys := map[string]map[string]bool{}
	for _, u := range cfg.Users {
		if keys[u.Name] == nil {
			keys[u.Name] = map[string]bool{}
		}
		for _, k := range u.Keys {
			keys[u.Name][gossh.FingerprintSHA256(k)] = true
		}
	}
	admins := map[string]bool{}
	for _, a := range cfg.Admins {
		admins[a] = true
	}
	tags := map[string][]string{}
	idle := map[string]time.Duration{}
	for _, c := range cfg.Consoles {
		if len(c.Tags) > 0 {
			tags[c.Name] = c.Tags
		}
		if c.Session.IdleTimeout > 0 {
			idle[c.Name] = c.Session.IdleTimeout
		}
	}
	cas := map[string]bool{}
	for _, ca := range cfg.UserCAs {
		cas[gossh.FingerprintSHA256(ca)] = true
	}
	prGroups := map[string][]string{}
	for g, prs := range cfg.GroupPrincipals {
		for _, pr := range prs {
			prGroups[pr] = append(prGroups[pr], g)
		}
	}
	lists := consoleLists(cfg)
	return Policy{Access: accessFunc(lists), CertAccess: certAccessFunc(lists), CAs: cas, PrincipalGroups: prGroups, Keys: keys, Breaks: cfg.Breaks, Escape: cfg.Escape,
		Replay: cfg.ReplayLines, Admins: admins, Tags: tags,
		Screens: screenSizes(cfg), Motd: cfg.Motd, IdleTimeout: cfg.IdleTimeout, IdleTimeouts: idle}
}

// consoleLists maps each console of cfg to its rw and ro lists, where cfg
// holds them (no copy).
func consoleLists(cfg *config.Config) map[string]*config.Access {
	byName := make(map[string]*config.Access, len(cfg.Consoles))
	for i := range cfg.Consoles {
		byName[cfg.Consoles[i].Name] = &cfg.Consoles[i].Access
	}
	return byName
}

// accessFunc answers what a user may do on a console, from the consoles'
// rw and ro lists.
func accessFunc(byName map[string]*config.Access) AccessFunc {
	return func(user, console string) Access {
		a, ok := byName[console]
		switch {
		case !ok:
			return NoAccess
		case a.Open || a.RW[user]:
			return ReadWrite
		case a.RO[user]:
			return ReadOnly
		}
		return NoAccess
	}
}

// certAccessFunc answers what a certificate user, member of groups by
// their principals, may do on a console: the rw and ro lists by name, by
// group (members = [...] or principals = [...]) and "*".
func certAccessFunc(byName map[string]*config.Access) func(user string, groups []string, console string) Access {
	return func(user string, groups []string, console string) Access {
		a, ok := byName[console]
		if !ok {
			return NoAccess
		}
		in := func(set map[string]bool) bool {
			for _, g := range groups {
				if set[g] {
					return true
				}
			}
			return false
		}
		switch {
		case a.Open || a.RW[user] || a.RWAll || in(a.RWGroups):
			return ReadWrite
		case a.RO[user] || a.ROAll || in(a.ROGroups):
			return ReadOnly
		}
		return NoAccess
	}
}
