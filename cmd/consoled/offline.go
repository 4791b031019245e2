package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"consoled/internal/logcmd"
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
