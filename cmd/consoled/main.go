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
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"consoled/backend/ipmi"
	"consoled/config"
	"consoled/frontend"
	"consoled/logstore"
	"consoled/mux"
	"consoled/panics"
)

//go:embed default.hcl
var defaultConfig []byte

// connectHint, for the embedded default, tells a newcomer how to connect.
var connectHint string

func main() {
	os.Exit(run())
}

func run() int {
	var (
		configPath = flag.String("config", "", "config file (HCL); without it consoled runs the embedded demo default")
		dataDir    = flag.String("data", "consoled-data", "state directory for the embedded default (host key, logs)")
		listen     = flag.String("listen", "", "override the config's listen address (host:port; port 0 picks one)")
		check      = flag.Bool("check", false, "validate the config and exit")
		logLevel   = flag.String("log-level", "info", "debug, info, warn or error")
	)
	if len(os.Args) > 1 && (os.Args[1] == "logs" || os.Args[1] == "panics") {
		return offline(os.Args[1], os.Args[2:])
	}
	flag.Parse()
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "consoled: -log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	cfg, err := loadConfig(*configPath, *dataDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "consoled: %v\n", err)
		return 1
	}
	if *check {
		fmt.Printf("%s: ok: %d consoles, %d users\n", cfg.File, len(cfg.Consoles), len(cfg.Users))
		return 0
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if err := serve(cfg, logger); err != nil {
		fmt.Fprintf(os.Stderr, "consoled: %v\n", err)
		return 1
	}
	return 0
}

// loadConfig reads the config file, or builds the embedded default.
func loadConfig(path, dataDir string) (*config.Config, error) {
	if path != "" {
		cfg, diags := config.Load(path)
		if diags.HasErrors() {
			return nil, diagError(diags)
		}
		for _, d := range diags {
			slog.Warn("config", "warning", d.Error())
		}
		return cfg, nil
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	dir, err := absDir(dataDir)
	if err != nil {
		return nil, err
	}
	cfg, diags := config.Parse(defaultConfig, "(embedded default)", dir)
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	user, hint, err := localUser(dir)
	if err != nil {
		return nil, err
	}
	cfg.Users = append(cfg.Users, user)
	connectHint = hint
	return cfg, nil
}

// diagError joins HCL diagnostics, one per line: "file:line,col: summary; detail".
func diagError(diags interface{ Errs() []error }) error {
	var lines []string
	for _, e := range diags.Errs() {
		lines = append(lines, e.Error())
	}
	return errors.New(strings.Join(lines, "\nconsoled: "))
}

// serve runs consoled until SIGINT or SIGTERM.
func serve(cfg *config.Config, logger *slog.Logger) error {
	signer, err := frontend.LoadOrCreateHostKey(cfg.HostKey)
	if err != nil {
		return err
	}
	users := map[string][]gosshPublicKey{}
	for _, u := range cfg.Users {
		users[u.Name] = append(users[u.Name], u.Keys...)
	}
	keys, err := frontend.NewKeyring(users)
	if err != nil {
		return err
	}

	reg := &registry{byName: map[string]*mux.Console{}, power: map[string]frontend.PowerControl{}}
	var logs []*logstore.Log
	budget := &logstore.Budget{MaxTotal: cfg.MaxTotal}
	panicStore := panics.NewStore(filepath.Join(cfg.LogDir, "panics.jsonl"))
	for _, cc := range cfg.Consoles {
		lg, err := logstore.Open(cfg.LogDir, cc.Name, logstore.Options{MaxSize: cc.Log.MaxSize, Keep: cc.Log.Keep, Budget: budget})
		if err != nil {
			return fmt.Errorf("console %s: %w", cc.Name, err)
		}
		logs = append(logs, lg)
		var c *mux.Console
		det := panics.NewDetector(cc.Name, cfg.PanicPatterns, func(ev panics.Event) {
			onPanic(c, panicStore, cfg.OnPanic, ev, logger)
		})
		c = mux.New(mux.Config{Name: cc.Name, Dialer: dialer(cc), Log: lg, Logger: logger,
			Observers: []func([]byte){det.Observe}})
		reg.byName[cc.Name] = c
		reg.list = append(reg.list, c)
		if cc.Power != nil {
			reg.power[cc.Name] = &ipmi.Power{Options: ipmiOptions(cc.Power)}
		}
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening for ssh: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.AuditLog), 0o750); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	auditFile, err := os.OpenFile(cfg.AuditLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("opening audit log: %w", err)
	}
	defer auditFile.Close()
	fe := frontend.New(frontend.Options{Consoles: reg, Keys: keys, HostKey: signer,
		Escape: cfg.Escape, Logger: logger, Access: accessFunc(cfg), Breaks: cfg.Breaks,
		Audit: frontend.NewAuditor(auditFile, logger), LogDir: cfg.LogDir, Panics: panicStore,
		Replay: cfg.ReplayLines})

	ctx, cancel := context.WithCancelCause(context.Background())
	var wg sync.WaitGroup
	for _, c := range reg.list {
		wg.Add(1)
		go func() { defer wg.Done(); c.Run(ctx) }()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- fe.Serve(ln) }()
	logger.Info("ssh listening", "addr", ln.Addr().String(), "consoles", len(reg.list), "config", cfg.File)
	if connectHint != "" {
		port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
		fmt.Fprintf(os.Stderr, "\nconsoled is running the built-in demo console. Connect with:\n\n    %s\n\nThen type 'help'; ^Ec? shows the escapes, ^Ec. disconnects. Stop with Ctrl-C.\n\n",
			strings.ReplaceAll(connectHint, "PORT", port))
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	var result error
wait:
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				logger.Warn("SIGHUP: live reload is not available yet; restart consoled to apply config changes")
				continue
			}
			logger.Info("shutting down", "signal", sig.String())
			break wait
		case err := <-serveErr:
			result = fmt.Errorf("ssh server: %w", err)
			break wait
		}
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	fe.Shutdown(sctx)
	cancel(frontend.ErrShutdown)
	wg.Wait()
	for _, lg := range logs {
		if err := lg.Close(); err != nil {
			logger.Error("closing log", "path", lg.Path(), "err", err)
		}
	}
	logger.Info("stopped")
	return result
}

// registry is the fixed set of consoles from the config.
type registry struct {
	byName map[string]*mux.Console
	list   []*mux.Console
	power  map[string]frontend.PowerControl
}

func (r *registry) Power(name string) frontend.PowerControl {
	if p, ok := r.power[name]; ok {
		return p
	}
	return nil
}

func (r *registry) Console(name string) (*mux.Console, bool) {
	c, ok := r.byName[name]
	return c, ok
}

func (r *registry) Consoles() []*mux.Console { return append([]*mux.Console(nil), r.list...) }
