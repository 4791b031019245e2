// Command consoled is a console server: it holds the serial consoles of many
// machines, records everything they print, and lets people reach them with
// ssh. See README.md.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"

	"consoled/authkeys"
	"consoled/config"
	"consoled/frontend"
	"consoled/frontend/sshd"
	"consoled/frontend/web"
	"consoled/metrics"
	"consoled/registry"
)

//go:embed default.hcl
var defaultConfig []byte

func main() {
	os.Exit(run())
}

func run() int {
	var (
		configPath = flag.String("config", "", "config file (HCL); without it consoled runs the embedded demo default")
		dataDir    = flag.String("data", "consoled-data", "state directory for the embedded default (host key, logs)")
		listen     = flag.String("listen", "", "override the config's listen address (host:port; port 0 picks one)")
		webListen  = flag.String("web-listen", "", "override the web block's listen address (host:port; port 0 picks one)")
		check      = flag.Bool("check", false, "validate the config and exit")
		logLevel   = flag.String("log-level", "info", "debug, info, warn or error")
		cpuProfile = flag.String("cpuprofile", "", "write a CPU profile to this file until exit (for benchmarks)")
		gateway    = flag.String("gateway", "", "this gateway's name in the config's cluster (overrides cluster { gateway })")
		advertise  = flag.String("advertise", "", "where the other gateways reach this one's SSH listener (overrides cluster { advertise })")
	)
	if len(os.Args) > 1 && (os.Args[1] == "logs" || os.Args[1] == "panics") {
		return offline(os.Args[1], os.Args[2:])
	}
	flag.Usage = usage
	flag.Parse()
	// A console server allocates little once running; a tighter GC target
	// keeps thousands of consoles' memory low at almost no CPU cost.
	// (GOGC in the environment still wins.)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "consoled: -cpuprofile: %v\n", err)
			return 2
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "consoled: -log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	cfg, hint, err := loadConfig(*configPath, *dataDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "consoled: %v\n", err)
		return 1
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	cf := clusterFlags{gateway: *gateway, advertise: *advertise}
	if err := cf.apply(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "consoled: %v\n", err)
		return 1
	}
	if *check {
		fmt.Printf("%s: ok: %d consoles, %d users\n", cfg.File, len(cfg.Consoles), len(cfg.Users))
		return 0
	}
	if *webListen != "" && cfg.Web != nil {
		cfg.Web.Listen = *webListen
	}
	if err := serve(cfg, *configPath, cf, hint, logger); err != nil {
		fmt.Fprintf(os.Stderr, "consoled: %v\n", err)
		return 1
	}
	return 0
}

// loadConfig reads the config file, or builds the embedded default; hint,
// for the embedded default, tells a newcomer how to connect.
func loadConfig(path, dataDir string) (cfg *config.Config, hint string, err error) {
	if path != "" {
		cfg, diags := config.Load(path)
		if diags.HasErrors() {
			return nil, "", diagError(diags)
		}
		for _, d := range diags {
			slog.Warn("config", "warning", d.Error())
		}
		return cfg, "", nil
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, "", fmt.Errorf("creating data directory: %w", err)
	}
	dir, err := absDir(dataDir)
	if err != nil {
		return nil, "", err
	}
	cfg, diags := config.Parse(defaultConfig, "(embedded default)", dir)
	if diags.HasErrors() {
		return nil, "", diagError(diags)
	}
	user, hint, err := localUser(dir)
	if err != nil {
		return nil, "", err
	}
	cfg.Users = append(cfg.Users, user)
	return cfg, hint, nil
}

// diagError joins HCL diagnostics, one per line: "file:line,col: summary; detail".
func diagError(diags interface{ Errs() []error }) error {
	var lines []string
	for _, e := range diags.Errs() {
		if d, ok := e.(*hcl.Diagnostic); ok {
			lines = append(lines, config.Message(d))
			continue
		}
		lines = append(lines, e.Error())
	}
	return errors.New(strings.Join(lines, "\nconsoled: "))
}

// serve runs consoled until SIGINT or SIGTERM; SIGHUP reloads path.
func serve(cfg *config.Config, path string, cf clusterFlags, hint string, logger *slog.Logger) error {
	signer, err := sshd.LoadOrCreateHostKey(cfg.HostKey)
	if err != nil {
		return err
	}
	keys, err := keyring(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.AuditLog), 0o750); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	auditFile, err := os.OpenFile(cfg.AuditLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("opening audit log: %w", err)
	}
	defer auditFile.Close()

	files := planFiles(cfg)
	if err := files.check(); err != nil {
		if cfg.Cluster == nil {
			return err
		}
		// A gateway of a cluster holds only its share of the consoles.
		logger.Warn("if this gateway came to hold every console", "err", err)
	}
	files.apply(logger)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening for ssh: %w", err)
	}
	reg := registry.New(cfg, logger)
	var cl *node
	if cfg.Cluster != nil {
		if cfg.Cluster.Advertise == "" { // listen names a host, and port 0 picked one
			cfg.Cluster.Advertise = ln.Addr().String()
		}
		if cl, err = startCluster(cfg, signer, reg, logger); err != nil {
			ln.Close()
			return err
		}
		defer cl.stop() // after the consoles stopped: the others take over at once
	}
	if _, err := reg.Apply(cfg); err != nil {
		ln.Close()
		return err
	}
	d := &daemon{cfg: cfg, path: path, cluflags: cf, reg: reg, cluster: cl, logger: logger}
	d.core = frontend.New(frontend.Options{Consoles: reg, Audit: frontend.NewAuditor(auditFile, logger),
		Logger: logger, LogDir: cfg.LogDir, Panics: reg.Panics(), Policy: frontend.PolicyFrom(cfg),
		Reload: d.reloadFunc()})
	sopts := sshd.Options{Core: d.core, Keys: keys, HostKey: signer, Logger: logger}
	if cl != nil {
		sopts.Cluster = cl
	}
	d.fe = sshd.New(sopts)
	serveErr := make(chan error, 1)
	go func() { serveErr <- d.fe.Serve(ln) }()
	var metricsSrv *http.Server
	if cfg.MetricsListen != "" {
		var mopts []metrics.Option
		if cl != nil {
			mopts = append(mopts, metrics.WithCluster(cl))
		}
		if metricsSrv, err = serveMetrics(cfg.MetricsListen, reg, d.fe, logger, mopts...); err != nil {
			d.fe.Shutdown(context.Background())
			reg.StopAll(sshd.ErrShutdown)
			return err
		}
	}
	var webSrv *web.Server
	var webErr <-chan error // nil without a web view: never ready
	if cfg.Web != nil {
		if webSrv, webErr, err = startWeb(cfg.Web, cfg.Web.Listen, hint != "", d.core, logger); err != nil {
			d.fe.Shutdown(context.Background())
			reg.StopAll(sshd.ErrShutdown)
			return err
		}
	}
	logger.Info("ssh listening", "addr", ln.Addr().String(), "consoles", len(cfg.Consoles), "config", cfg.File)
	debug.FreeOSMemory() // parsing a large config leaves garbage behind: give it back
	if hint != "" {
		port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
		fmt.Fprintf(os.Stderr, "\nconsoled is running the built-in demo console. Connect with:\n\n    %s\n\nThen type 'help'; ^Ec? shows the escapes, ^Ec. disconnects.\n",
			strings.ReplaceAll(hint, "PORT", port))
		if webSrv != nil {
			fmt.Fprintf(os.Stderr, "\nOr open the web view (this link works once, for 60 s; '%s' prints a new one):\n\n    %s\n",
				strings.ReplaceAll(webHint(hint), "PORT", port), demoLink(d.core, cfg))
		}
		fmt.Fprintf(os.Stderr, "\nStop with Ctrl-C.\n\n")
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	var result error
wait:
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				if summary, err := d.reload(); err != nil && summary == "" {
					logger.Error("reload refused; the running configuration stays", "err", err)
				} else if err != nil {
					logger.Error("reload applied in part", "applied", summary, "err", err)
				} else {
					logger.Info("reloaded", "summary", summary)
				}
				continue
			}
			logger.Info("shutting down", "signal", sig.String())
			break wait
		case err := <-serveErr:
			result = fmt.Errorf("ssh server: %w", err)
			break wait
		case err := <-webErr:
			result = fmt.Errorf("web server: %w", err)
			break wait
		}
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	webDone := make(chan struct{})
	go func() { // web terminals are told at the same time as SSH sessions
		if webSrv != nil {
			webSrv.Shutdown(sctx)
		}
		close(webDone)
	}()
	d.fe.Shutdown(sctx)
	<-webDone
	if metricsSrv != nil {
		metricsSrv.Shutdown(sctx)
	}
	if cl != nil {
		cl.quiesce()
	}
	reg.StopAll(sshd.ErrShutdown)
	logger.Info("stopped")
	return result
}

// daemon is a running consoled: what reload changes.
type daemon struct {
	mu   sync.Mutex
	cfg  *config.Config
	path string // "" for the embedded default: nothing to reload
	// cluflags are -gateway and -advertise, applied to every config read.
	cluflags clusterFlags
	cluster  *node // nil alone
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
		d.cluster.setConsoles(cfg) // so that Apply starts the added consoles placed here
	}
	diff, err := d.reg.Apply(cfg)
	if d.cluster != nil && errors.Is(err, registry.ErrNotApplied) {
		d.cluster.setConsoles(d.cfg) // nothing changed
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

// clusterFlags are the command line's cluster settings.
type clusterFlags struct{ gateway, advertise string }

// apply puts the flags in cfg (they override its cluster block) and
// checks that a cluster knows this gateway's name and address: advertise
// defaults to the listen address when that names a host (with port 0, the
// port the listener gets).
func (f clusterFlags) apply(cfg *config.Config) error {
	c := cfg.Cluster
	if c == nil {
		if f.gateway != "" || f.advertise != "" {
			return errors.New("-gateway, -advertise: the config has no cluster block")
		}
		return nil
	}
	if f.gateway != "" {
		if !config.ValidName(f.gateway) {
			return fmt.Errorf("-gateway %q: 1 to 64 letters, digits, '.', '-' and '_'", f.gateway)
		}
		c.Gateway = f.gateway
	}
	if f.advertise != "" {
		c.Advertise = f.advertise
	}
	if c.Gateway == "" {
		return errors.New("cluster: this gateway has no name (gateway = \"...\" in the cluster block, or -gateway NAME)")
	}
	if c.Advertise == "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if ip := net.ParseIP(host); err != nil || host == "" || ip != nil && ip.IsUnspecified() {
			return fmt.Errorf("cluster: no advertise address, and listen %q names no host and port the other gateways could reach (advertise = \"host:port\" or -advertise)", cfg.Listen)
		}
		if port != "0" {
			c.Advertise = cfg.Listen
		} // else: the address the listener gets (serve)
	}
	return nil
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
