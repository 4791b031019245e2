package frontend

import (
	"time"

	gossh "golang.org/x/crypto/ssh"

	"consoled/config"
)

// PolicyFrom is the policy a configuration sets: its users and their keys,
// the consoles' rw and ro lists, break sequences, escape, replay and
// admins, and the consoles' tags.
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
		tags[c.Name] = c.Tags
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
	return Policy{Access: accessFunc(cfg), CertAccess: certAccessFunc(cfg), CAs: cas, PrincipalGroups: prGroups, Keys: keys, Breaks: cfg.Breaks, Escape: cfg.Escape,
		Replay: cfg.ReplayLines, Admins: admins, Tags: tags,
		Screens: screenSizes(cfg), Motd: cfg.Motd, IdleTimeout: cfg.IdleTimeout, IdleTimeouts: idle}
}

// accessFunc answers what a user may do on a console, from the config's
// rw and ro lists.
func accessFunc(cfg *config.Config) AccessFunc {
	byName := map[string]config.Access{}
	for _, c := range cfg.Consoles {
		byName[c.Name] = c.Access
	}
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
func certAccessFunc(cfg *config.Config) func(user string, groups []string, console string) Access {
	byName := map[string]config.Access{}
	for _, c := range cfg.Consoles {
		byName[c.Name] = c.Access
	}
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
