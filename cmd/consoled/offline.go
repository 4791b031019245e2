package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"time"

	"consoled/internal/logcmd"
	"consoled/mux"
	"consoled/panics"
)

// offline runs `consoled logs|panics -data DIR ...` on a log directory (or a
// copy of one): the same code the SSH commands run.
func offline(cmd string, args []string) int {
	fs := flag.NewFlagSet("consoled "+cmd, flag.ContinueOnError)
	dir := fs.String("data", "logs", "the log directory (log_dir), or a copy of it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if cmd == "logs" {
		err = logcmd.Logs(ctx, fs.Args(), *dir, nil, os.Stdout)
	} else {
		err = logcmd.Panics(fs.Args(), panics.NewStore(filepath.Join(*dir, "panics.jsonl")), time.Now(), nil, os.Stdout)
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "consoled %s: %v\n", cmd, err)
		return 2
	}
	return 0
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
