// Package registry is the set of consoles on this gateway: it starts them
// from the configuration (backend, log, panic detection, power control),
// applies a reloaded configuration as a diff (added consoles start, removed
// ones stop, changed ones restart, untouched ones keep running with their
// clients), stops them all at shutdown, and runs the on_panic hook.
package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"consoled/backend/ipmi"
	"consoled/config"
	"consoled/logstore"
	"consoled/mux"
	"consoled/panics"
)

// Causes clients of a console see when a reload stops it.
var (
	ErrRemoved = errors.New("console removed from the configuration")
	ErrChanged = errors.New("console's configuration changed; attach again")
)

// Registry holds the running consoles and applies configurations to them.
type Registry struct {
	logger *slog.Logger
	budget *logstore.Budget
	panics *panics.Store
	hooks  *panics.HookLimiter // on_panic: one run at a time, HookInterval apart, per console

	logDir string

	applyMu    sync.Mutex // one Apply at a time
	placement  Placement  // nil: every configured console runs here
	mu         sync.RWMutex
	entries    map[string]*entry
	panicCount map[string]uint64
	global     *config.Config // for the panic hook and patterns
}

// entry is a running console. It holds no copy of the console's
// configuration: cfg points into the configuration in force.
type entry struct {
	cfg    *config.Console
	con    *mux.Console
	log    *logstore.Log
	det    atomic.Pointer[panics.Detector] // replaced when panic_patterns change
	cancel context.CancelFunc              // ends watchEvents; nil without a BMC event log
	done   sync.WaitGroup                  // until the console has stopped
}

// New returns an empty registry for cfg's log directory; Apply starts the
// consoles.
func New(cfg *config.Config, logger *slog.Logger) *Registry {
	return &Registry{logger: logger, logDir: cfg.LogDir, budget: logstore.NewBudget(cfg.MaxTotal),
		panics: panics.NewStore(filepath.Join(cfg.LogDir, "panics.jsonl")), entries: map[string]*entry{},
		panicCount: map[string]uint64{}, hooks: panics.NewHookLimiter(panics.HookInterval)}
}

// Apply makes the running consoles match cfg: removed consoles stop (their
// clients are told ErrRemoved), changed ones restart (ErrChanged), added
// ones start, untouched ones keep running with their clients. It is all or
// nothing where it can be: everything that can fail (a new console's log
// file, a changed log_dir) is tried before anything running is touched, and
// on such an error nothing has changed. Only a changed console's restart
// comes after its old instance stopped; if that fails, the console stays
// stopped and the error says so beside the Diff of what was applied.
func (r *Registry) Apply(cfg *config.Config) (Diff, error) {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	return r.apply(cfg)
}

// apply is Apply, with applyMu held.
func (r *Registry) apply(cfg *config.Config) (Diff, error) {
	if cfg.LogDir != r.logDir {
		return Diff{}, fmt.Errorf("%w: log_dir %s -> %s: the logs, the panic list and the logs command would disagree about where logs are; restart consoled to move them", ErrNotApplied, r.logDir, cfg.LogDir)
	}
	r.mu.RLock()
	running := make(map[string]config.Console, len(r.entries))
	for name, e := range r.entries {
		running[name] = *e.cfg
	}
	r.mu.RUnlock()
	configured := map[string]bool{}
	var here []config.Console
	want := map[string]*config.Console{}
	for i := range cfg.Consoles {
		c := &cfg.Consoles[i]
		configured[c.Name] = true
		if r.placement == nil || r.placement.RunsHere(c.Name) {
			here = append(here, *c)
			want[c.Name] = c
		}
	}
	d := Compare(running, here)

	// Prepare: open the added consoles' logs.
	logs := map[string]*logstore.Log{}
	for _, name := range d.Added {
		lg, err := r.openLog(want[name])
		if err != nil {
			for _, l := range logs {
				l.Close()
			}
			return Diff{}, fmt.Errorf("%w: console %s: %v", ErrNotApplied, name, err)
		}
		logs[name] = lg
	}

	// Apply.
	r.mu.Lock()
	newPatterns := r.global != nil && !samePatterns(r.global.PanicPatterns, cfg.PanicPatterns)
	r.global = cfg
	r.budget.SetMaxTotal(cfg.MaxTotal)
	var stop []*entry
	var stopCause []error
	for _, name := range d.Removed {
		cause := ErrRemoved
		if r.placement != nil && configured[name] { // still configured: held by another gateway now
			cause = &MovedError{Why: r.placement.Departure(name)}
		}
		stop, stopCause = append(stop, r.entries[name]), append(stopCause, cause)
		delete(r.entries, name)
	}
	for _, name := range d.Changed {
		stop, stopCause = append(stop, r.entries[name]), append(stopCause, ErrChanged)
		delete(r.entries, name)
	}
	for _, name := range d.Unchanged {
		e := r.entries[name]
		e.cfg = want[name] // access lists may differ: they are read per request
		if newPatterns {
			e.det.Store(r.detector(e, cfg))
		}
	}
	for _, name := range d.Added {
		r.entries[name] = r.run(want[name], cfg, logs[name])
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for i, e := range stop { // at once: a fenced gateway lets go of all its consoles in time
		wg.Add(1)
		go func() { defer wg.Done(); e.stop(stopCause[i]) }()
	}
	wg.Wait()
	var errs []error
	for _, name := range d.Changed {
		lg, err := r.openLog(want[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("console %s stopped for its new configuration but could not start again: %w", name, err))
			continue
		}
		r.mu.Lock()
		r.entries[name] = r.run(want[name], cfg, lg)
		r.mu.Unlock()
	}
	return d, errors.Join(errs...)
}

// Placement says which configured consoles run on this gateway, in a
// cluster of gateways (see package cluster).
type Placement interface {
	// RunsHere says whether this gateway runs console name now.
	RunsHere(name string) bool
	// Arrival is the mark for name starting here ("" for none).
	Arrival(name string) string
	// Departure is why name stops here while it is still configured.
	Departure(name string) string
}

// MovedError is the cause a console's clients see when it stops on this
// gateway because another holds it now (or this one let go).
type MovedError struct{ Why string }

// Error is why the console stopped here.
func (e *MovedError) Error() string { return e.Why }

// SetPlacement makes Apply run only the consoles p places here; call it
// before the first Apply, and Reconcile when p's answers change.
func (r *Registry) SetPlacement(p Placement) {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	r.placement = p
}

// Reconcile applies the configuration in force again, so that the
// consoles running match what the placement says now: consoles that moved
// here start, consoles that moved away stop.
func (r *Registry) Reconcile() error {
	r.applyMu.Lock() // the configuration in force is the one the last Apply put there
	defer r.applyMu.Unlock()
	r.mu.RLock()
	cfg := r.global
	r.mu.RUnlock()
	if cfg == nil {
		return nil
	}
	_, err := r.apply(cfg)
	return err
}

// ErrNotApplied wraps an Apply error that left everything as it was.
var ErrNotApplied = errors.New("nothing changed")

// openLog opens a console's log in the registry's log directory.
func (r *Registry) openLog(cc *config.Console) (*logstore.Log, error) {
	return logstore.Open(r.logDir, cc.Name, logstore.Options{MaxSize: cc.Log.MaxSize, Keep: cc.Log.Keep, Budget: r.budget})
}

// run starts console cc (of cfg), logging to lg.
func (r *Registry) run(cc *config.Console, cfg *config.Config, lg *logstore.Log) *entry {
	e := &entry{cfg: cc, log: lg}
	e.det.Store(r.detector(e, cfg))
	mc := mux.Config{Name: cc.Name, Dialer: dialer(cc), Log: lg, Logger: r.logger,
		Observers: []func([]byte){e.observe}}
	if cc.Power != nil {
		mc.Power = &ipmi.Power{Options: ipmiOptions(cc.Power)}
	}
	mc.InitCmd, mc.IdleString, mc.IdleAfter = cc.Session.InitCmd, cc.Session.IdleString, cc.Session.IdleAfter
	e.con = mux.New(mc)
	if r.placement != nil {
		if mark := r.placement.Arrival(cc.Name); mark != "" {
			e.con.Announce(mark)
		}
	}
	e.done.Add(1)
	go func() { // a quiet console holds no goroutine once started (mux.Console.Start)
		r.takeBackStale(cc.Name, mc.Dialer, lg)
		e.con.Start(e.done.Done)
	}()
	if el, ok := mc.Power.(mux.EventLog); ok {
		ctx, cancel := context.WithCancel(context.Background())
		e.cancel = cancel
		r.watchEvents(ctx, e.con, el)
	}
	return e
}

// observe feeds the console's output to its panic detector.
func (e *entry) observe(p []byte) { e.det.Load().Observe(p) }

// detector watches e's output for crashes with cfg's patterns.
func (r *Registry) detector(e *entry, cfg *config.Config) *panics.Detector {
	return panics.NewDetector(e.cfg.Name, cfg.PanicPatterns, func(ev panics.Event) {
		r.mu.Lock()
		hook := r.global.OnPanic
		r.panicCount[ev.Console]++
		r.mu.Unlock()
		onPanic(e.con, r.panics, r.hooks, hook, ev, r.logger)
	})
}

// samePatterns reports whether two panic_patterns lists are the same.
func samePatterns(a, b []*regexp.Regexp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}

// stop ends a console: its clients are told cause, its log is closed.
func (e *entry) stop(cause error) {
	if e.cancel != nil {
		e.cancel()
	}
	e.con.Stop(cause)
	e.done.Wait()
	e.log.Close()
}

// StopAll stops every console (shutdown); their clients are told cause.
func (r *Registry) StopAll(cause error) {
	r.mu.Lock()
	entries := r.entries
	r.entries = map[string]*entry{}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range entries {
		wg.Add(1)
		go func() { defer wg.Done(); e.stop(cause) }()
	}
	wg.Wait()
}

// Console is the running console name.
func (r *Registry) Console(name string) (*mux.Console, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.entries[name]
	if !ok {
		return nil, false
	}
	return e.con, true
}

// Consoles is every running console, in no particular order.
func (r *Registry) Consoles() []*mux.Console {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*mux.Console, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e.con)
	}
	return out
}

// Panics is the list of crashes seen (log_dir/panics.jsonl).
func (r *Registry) Panics() *panics.Store { return r.panics }

// PanicCount is how many crashes were detected on console since start.
func (r *Registry) PanicCount(console string) uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.panicCount[console]
}

// onPanic records a detected crash: a mark in the console's log (and to
// attached clients), an entry for `panics`, and the on_panic hook if hooks
// admits it (the entry says whether it ran).
func onPanic(c *mux.Console, store *panics.Store, hooks *panics.HookLimiter, hook []string, ev panics.Event, logger *slog.Logger) {
	logger.Warn("panic detected", "console", ev.Console, "headline", ev.Headline)
	c.Announce("panic detected: " + ev.Headline)
	var done func()
	suppressed := 0
	if len(hook) > 0 {
		var ok bool
		if done, suppressed, ok = hooks.Admit(ev.Console); ok {
			ev.Hook = panics.HookRun
		} else {
			ev.Hook = panics.HookSuppressed
			logger.Warn("on_panic not run: one already runs or ran less than "+panics.HookInterval.String()+" ago", "console", ev.Console)
		}
	}
	if err := store.Add(ev); err != nil {
		logger.Error("recording panic", "err", err)
	}
	if done == nil {
		return
	}
	go func() {
		defer done()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, hook[0], hook[1:]...)
		cmd.WaitDelay = 5 * time.Second // a child left holding the output pipe does not hold the run open
		cmd.Env = append(os.Environ(), "CONSOLED_CONSOLE="+ev.Console,
			"CONSOLED_TIME="+ev.Time.Format(time.RFC3339), "CONSOLED_HEADLINE="+ev.Headline,
			fmt.Sprintf("CONSOLED_SUPPRESSED=%d", suppressed))
		if out, err := cmd.CombinedOutput(); err != nil {
			logger.Error("on_panic hook", "console", ev.Console, "err", err, "output", string(out))
		}
	}()
}
