package registry

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"consoled/mux"
)

// idlePoll is how often a watcher whose polling is off (bmc_event_poll =
// "0s") looks whether a reload turned it on.
const idlePoll = 30 * time.Second

// eventWatch reads one console's BMC event log. Between reads it holds a
// timer, not a goroutine: a gateway of thousands of BMC consoles keeps no
// stack per console for a read every 30 s.
type eventWatch struct {
	r   *Registry
	ctx context.Context
	con *mux.Console
	el  mux.EventLog

	mu      sync.Mutex // one read at a time
	timer   *time.Timer
	seen    map[string]bool // the entries of the last read; nil before the first
	failing bool
	busy    atomic.Bool // on_bmc_event runs
}

// watchEvents reads the BMC event log of console con every bmc_event_poll
// while ctx lasts, the first time at once. Entries there when it starts
// are old news; each new one is marked in the console's log ("BMC event:
// Temperature #0x30 asserted: ..."), so that a machine's crash and its
// BMC's events read in one place, and a critical one runs on_bmc_event
// (one run at a time per console, each killed after 60 s).
func (r *Registry) watchEvents(ctx context.Context, con *mux.Console, el mux.EventLog) {
	w := &eventWatch{r: r, ctx: ctx, con: con, el: el}
	w.mu.Lock() // the first read waits for w.timer
	w.timer = time.AfterFunc(0, w.read)
	w.mu.Unlock()
	context.AfterFunc(ctx, func() { w.timer.Stop() })
}

// read reads the event log once and sets the timer for the next read.
func (w *eventWatch) read() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx.Err() != nil {
		return
	}
	r, con := w.r, w.con
	r.mu.RLock()
	every, hook := r.global.BMCEventPoll, r.global.OnBMCEvent
	r.mu.RUnlock()
	next := every
	defer func() {
		if w.ctx.Err() == nil {
			w.timer.Reset(next)
		}
	}()
	if every <= 0 {
		next = idlePoll
		return
	}
	evs, err := w.el.Events(w.ctx)
	if err != nil {
		if !w.failing && w.ctx.Err() == nil {
			r.logger.Warn("reading the BMC event log", "console", con.Name(), "err", err)
		}
		w.failing = true
		return
	}
	if w.failing {
		r.logger.Info("reading the BMC event log again", "console", con.Name())
		w.failing = false
	}
	now := map[string]bool{}
	for _, ev := range evs {
		k := fmt.Sprintf("%d|%v|%s|%s|%v", ev.ID, ev.Time, ev.Sensor, ev.Event, ev.Asserted)
		now[k] = true
		if w.seen == nil || w.seen[k] {
			continue
		}
		r.logger.Warn("BMC event", "console", con.Name(), "event", ev.Describe())
		con.Announce("BMC event: " + ev.Describe())
		if ev.Critical && len(hook) > 0 && w.busy.CompareAndSwap(false, true) {
			go func() {
				defer w.busy.Store(false)
				r.runEventHook(con.Name(), hook, ev)
			}()
		}
	}
	if w.seen == nil {
		r.logger.Info("watching the BMC event log", "console", con.Name(), "entries", len(evs), "every", every)
	}
	w.seen = now
}

// runEventHook runs on_bmc_event for a critical event.
func (r *Registry) runEventHook(console string, hook []string, ev mux.BMCEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hook[0], hook[1:]...)
	cmd.WaitDelay = 5 * time.Second
	when := ev.Time
	if when.IsZero() {
		when = time.Now()
	}
	cmd.Env = append(os.Environ(), "CONSOLED_CONSOLE="+console, "CONSOLED_TIME="+when.UTC().Format(time.RFC3339),
		"CONSOLED_EVENT="+ev.Describe(), "CONSOLED_SENSOR="+ev.Sensor)
	if out, err := cmd.CombinedOutput(); err != nil {
		r.logger.Error("on_bmc_event hook", "console", console, "err", err, "output", string(out))
	}
}
