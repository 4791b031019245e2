// Reload: what a running consoled changes when its configuration is read again.

package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"consoled/authkeys"
	"consoled/cluster/node"
	"consoled/config"
	"consoled/frontend"
	"consoled/frontend/sshd"
	"consoled/registry"
)

// daemon is a running consoled: what reload changes.
type daemon struct {
	mu   sync.Mutex
	cfg  *config.Config
	path string // "" for the embedded default: nothing to reload
	// cluflags are -gateway and -advertise, applied to every config read.
	cluflags clusterFlags
	cluster  *node.Node // nil alone
	reg      *registry.Registry
	core     *frontend.Core
	fe       *sshd.Server
	logger   *slog.Logger
}

func (d *daemon) reloadFunc() func() (string, error) {
	if d.path == "" {
		return nil
	}
	return d.reload
}

// reload re-reads the config file. A bad one is refused whole and the
// running configuration stays (summary ""); otherwise added consoles start,
// removed ones stop, changed ones restart, unchanged ones are not touched,
// and users, keys and access apply at once. A non-empty summary says what
// was applied, even beside an error (a changed console that could not
// start again).
func (d *daemon) reload() (summary string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.path == "" {
		return "", errors.New("running the embedded default: there is no config file to reload")
	}
	cfg, diags := config.Load(d.path)
	if diags.HasErrors() {
		return "", diagError(diags)
	}
	if (cfg.Cluster == nil) != (d.cluster == nil) {
		return "", errors.New("adding or removing the cluster block takes a restart")
	}
	if cfg.Cluster != nil { // the cluster block takes effect on restart
		cfg.Cluster = d.cfg.Cluster
	}
	// The audit log stays where it was opened until a restart: no console
	// may log into it, whatever the new audit_log says.
	for _, c := range cfg.Consoles {
		if config.ConsoleFile(cfg.LogDir, c.Name, d.cfg.AuditLog) {
			return "", fmt.Errorf("console %q: its log files would include %s, the audit log consoled writes until a restart; rename the console", c.Name, d.cfg.AuditLog)
		}
	}
	keys, err := keyring(cfg)
	if err != nil {
		return "", err
	}
	files := planFiles(cfg)
	if err := files.check(); err != nil && cfg.Cluster == nil {
		return "", err
	}
	files.apply(d.logger)
	if d.cluster != nil {
		d.cluster.SetConsoles(cfg) // so that Apply starts the added consoles placed here
	}
	diff, err := d.reg.Apply(cfg)
	if d.cluster != nil && errors.Is(err, registry.ErrNotApplied) {
		d.cluster.SetConsoles(d.cfg) // nothing changed
	}
	if errors.Is(err, registry.ErrNotApplied) {
		return "", err
	}
	d.fe.SetKeys(keys)
	d.core.SetPolicy(frontend.PolicyFrom(cfg))
	summary = diff.String()
	if later := restartOnly(d.cfg, cfg); len(later) > 0 {
		summary += "; " + strings.Join(later, ", ") + " take effect on restart"
	}
	d.cfg = cfg
	return summary, err
}

// restartOnly names the settings that changed from old to cfg but apply
// only when consoled starts.
func restartOnly(old, cfg *config.Config) []string {
	var later []string
	for _, s := range []struct {
		name     string
		old, new string
	}{{"listen", old.Listen, cfg.Listen}, {"host_key", old.HostKey, cfg.HostKey},
		{"audit_log", old.AuditLog, cfg.AuditLog}, {"metrics_listen", old.MetricsListen, cfg.MetricsListen},
		{"web", webSettings(old.Web), webSettings(cfg.Web)}} {
		if s.old != s.new {
			later = append(later, s.name)
		}
	}
	return later
}

func keyring(cfg *config.Config) (*authkeys.Keyring, error) {
	users := map[string][]authkeys.Key{}
	for _, u := range cfg.Users {
		users[u.Name] = append(users[u.Name], u.Keys...)
	}
	k, err := authkeys.NewKeyring(users)
	if err != nil {
		return nil, err
	}
	return k.WithCertificates(cfg.UserCAs, cfg.Revoked), nil
}
