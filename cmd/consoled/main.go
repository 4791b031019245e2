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
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"

	"consoled/cluster/node"
	"consoled/config"
	"consoled/frontend"
	"consoled/frontend/sshd"
	"consoled/frontend/web"
	"consoled/internal/selfimage"
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

// releaseStartPages gives back what start-up (or a reload) used and a
// running server does not: the program's pages that package init and the
// config parse brought in (see selfimage.Release), and the heap garbage the
// parse left behind.
func releaseStartPages(logger *slog.Logger) {
	kib, err := selfimage.Release()
	if err != nil {
		logger.Debug("releasing the program's start-up pages", "err", err)
	}
	logger.Debug("released the program's start-up pages", "KiB", kib)
	debug.FreeOSMemory()
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
	var cl *node.Node
	if cfg.Cluster != nil {
		if cfg.Cluster.Advertise == "" { // listen names a host, and port 0 picked one
			cfg.Cluster.Advertise = ln.Addr().String()
		}
		if cl, err = node.Start(cfg, signer, reg, logger); err != nil {
			ln.Close()
			return err
		}
		defer cl.Stop() // after the consoles stopped: the others take over at once
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
	// Signals are caught before "ssh listening" is said: a SIGHUP sent by
	// whoever waited for that line must reload, not kill (its default).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	logger.Info("ssh listening", "addr", ln.Addr().String(), "consoles", len(cfg.Consoles), "config", cfg.File)
	releaseStartPages(logger) // package init and the config parse
	settleCtx, stopSettle := context.WithCancel(context.Background())
	defer stopSettle()
	afterStart := func() { // the consoles' first connections
		go settle(settleCtx, reg.Consoles, settleWait, func() { releaseStartPages(logger) })
	}
	afterStart()
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
				releaseStartPages(logger) // the parse brought in its code again
				afterStart()
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
		cl.Quiesce()
	}
	reg.StopAll(sshd.ErrShutdown)
	logger.Info("stopped")
	return result
}
