package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"time"

	"sync"

	"consoled/backend/ipmi"
	"consoled/config"
	"consoled/frontend"
	"consoled/logstore"
	"consoled/mux"
	"consoled/panics"
)

// Causes clients of a console see when a reload stops it.
var (
	errRemoved = errors.New("console removed from the configuration")
	errChanged = errors.New("console's configuration changed; attach again")
)

// registry holds the running consoles and applies configurations to them.
type registry struct {
	logger *slog.Logger
	budget *logstore.Budget
	panics *panics.Store

	mu         sync.RWMutex
	entries    map[string]*entry
	panicCount map[string]uint64
	global     *config.Config // for the panic hook and patterns
}

type entry struct {
	cfg    config.Console
	con    *mux.Console
	log    *logstore.Log
	power  frontend.PowerControl
	cancel context.CancelCauseFunc
	done   chan struct{}
}

func newRegistry(cfg *config.Config, logger *slog.Logger) *registry {
	return &registry{logger: logger, budget: &logstore.Budget{MaxTotal: cfg.MaxTotal},
		panics: panics.NewStore(filepath.Join(cfg.LogDir, "panics.jsonl")), entries: map[string]*entry{},
		panicCount: map[string]uint64{}}
}

// apply makes the running consoles match cfg and says what it did.
func (r *registry) apply(cfg *config.Config) (string, error) {
	r.mu.Lock()
	r.global = cfg
	r.budget.MaxTotal = cfg.MaxTotal
	want := map[string]config.Console{}
	for _, c := range cfg.Consoles {
		want[c.Name] = c
	}
	var added, removed, changed []string
	var stop []*entry
	var stopCause []error
	for name, e := range r.entries {
		nc, ok := want[name]
		switch {
		case !ok:
			removed = append(removed, name)
			stop, stopCause = append(stop, e), append(stopCause, errRemoved)
			delete(r.entries, name)
		case !sameConsole(e.cfg, nc):
			changed = append(changed, name)
			stop, stopCause = append(stop, e), append(stopCause, errChanged)
			delete(r.entries, name)
		default:
			e.cfg = nc // access lists may differ: they are read per request
		}
	}
	r.mu.Unlock()
	for i, e := range stop {
		e.stop(stopCause[i])
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, c := range cfg.Consoles {
		if _, running := r.entries[c.Name]; running {
			continue
		}
		e, err := r.start(c, cfg)
		if err != nil {
			errs = append(errs, fmt.Errorf("console %s: %w", c.Name, err))
			continue
		}
		r.entries[c.Name] = e
		if !contains(changed, c.Name) {
			added = append(added, c.Name)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	sort.Strings(changed)
	summary := fmt.Sprintf("consoles: %d added %v, %d removed %v, %d changed %v, %d unchanged",
		len(added), added, len(removed), removed, len(changed), changed, len(r.entries)-len(added)-len(changed))
	return summary, errors.Join(errs...)
}

// sameConsole compares everything but the access lists, which apply
// without a restart.
func sameConsole(a, b config.Console) bool {
	a.Access, b.Access = config.Access{}, config.Access{}
	return reflect.DeepEqual(a, b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (r *registry) start(cc config.Console, cfg *config.Config) (*entry, error) {
	lg, err := logstore.Open(cfg.LogDir, cc.Name, logstore.Options{MaxSize: cc.Log.MaxSize, Keep: cc.Log.Keep, Budget: r.budget})
	if err != nil {
		return nil, err
	}
	e := &entry{cfg: cc, log: lg, done: make(chan struct{})}
	det := panics.NewDetector(cc.Name, cfg.PanicPatterns, func(ev panics.Event) {
		r.mu.Lock()
		hook := r.global.OnPanic
		r.panicCount[ev.Console]++
		r.mu.Unlock()
		onPanic(e.con, r.panics, hook, ev, r.logger)
	})
	e.con = mux.New(mux.Config{Name: cc.Name, Dialer: dialer(cc), Log: lg, Logger: r.logger,
		Observers: []func([]byte){det.Observe}})
	if cc.Power != nil {
		e.power = &ipmi.Power{Options: ipmiOptions(cc.Power)}
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	e.cancel = cancel
	go func() {
		defer close(e.done)
		e.con.Run(ctx)
	}()
	return e, nil
}

// stop ends a console: its clients are told cause, its log is closed.
func (e *entry) stop(cause error) {
	e.cancel(cause)
	<-e.done
	e.log.Close()
}

// stopAll stops every console (shutdown).
func (r *registry) stopAll(cause error) {
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

// Console implements frontend.Registry.
func (r *registry) Console(name string) (*mux.Console, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.entries[name]
	if !ok {
		return nil, false
	}
	return e.con, true
}

// Consoles implements frontend.Registry.
func (r *registry) Consoles() []*mux.Console {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*mux.Console, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e.con)
	}
	return out
}

// Power implements frontend.Registry.
func (r *registry) Power(name string) frontend.PowerControl {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if e, ok := r.entries[name]; ok && e.power != nil {
		return e.power
	}
	return nil
}

// PanicCount is how many crashes were detected on console since start.
func (r *registry) PanicCount(console string) uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.panicCount[console]
}

// onPanic records a detected crash: a mark in the console's log (and to
// attached clients), an entry for `panics`, and the on_panic hook.
func onPanic(c *mux.Console, store *panics.Store, hook []string, ev panics.Event, logger *slog.Logger) {
	logger.Warn("panic detected", "console", ev.Console, "headline", ev.Headline)
	c.Announce("panic detected: " + ev.Headline)
	if err := store.Add(ev); err != nil {
		logger.Error("recording panic", "err", err)
	}
	if len(hook) == 0 {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, hook[0], hook[1:]...)
		cmd.Env = append(os.Environ(), "CONSOLED_CONSOLE="+ev.Console,
			"CONSOLED_TIME="+ev.Time.Format(time.RFC3339), "CONSOLED_HEADLINE="+ev.Headline)
		if out, err := cmd.CombinedOutput(); err != nil {
			logger.Error("on_panic hook", "console", ev.Console, "err", err, "output", string(out))
		}
	}()
}
