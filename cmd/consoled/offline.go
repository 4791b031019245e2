package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"consoled/internal/logcmd"
	"consoled/logstore"
	"consoled/panics"
)

// offlineUsage is the part of `consoled -h` about the offline subcommands.
const offlineUsage = `
Offline, on a log directory (log_dir) or a copy of one:
  consoled logs -data DIR NAME [--since 2h|1d|TIME] [--until TIME] [--tail N] [--grep REGEX]
                [--context N] [--follow] [--timestamps] [--raw]
  consoled panics -data DIR [--since 24h|7d|TIME] [NAME...]
  (-data, default "logs", may come anywhere on the line)
`

// usage is `consoled -h`: the server's flags and the offline subcommands.
func usage() {
	w := flag.CommandLine.Output()
	fmt.Fprintf(w, "usage: consoled [-config FILE] [flags]\n       consoled logs|panics -data DIR ...\n\nServer flags:\n")
	flag.PrintDefaults()
	fmt.Fprint(w, offlineUsage)
}

// offline runs `consoled logs|panics -data DIR ...` on a log directory (or a
// copy of one): the same code the SSH commands run.
func offline(cmd string, args []string) int {
	return offlineRun(cmd, args, os.Stdout, os.Stderr)
}

func offlineRun(cmd string, args []string, stdout, stderr io.Writer) int {
	dir, rest, help, err := offlineArgs(args)
	if help {
		fmt.Fprint(stdout, strings.TrimPrefix(offlineUsage, "\n"))
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "consoled %s: %v\n%s", cmd, err, offlineUsage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if cmd == "logs" {
		err = logcmd.Logs(ctx, rest, dir, nil, nil, stdout)
	} else {
		known := func(name string) bool { return logstore.Has(dir, name) }
		err = logcmd.Panics(rest, panics.NewStore(filepath.Join(dir, "panics.jsonl")), time.Now(), known, stdout)
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "consoled %s: %v\n", cmd, err)
		return 2
	}
	return 0
}

// offlineArgs takes -data DIR (or --data, -data=DIR) from anywhere before a
// "--", and -h/-help/--help; the rest is the command's own line.
func offlineArgs(args []string) (dir string, rest []string, help bool, err error) {
	dir = "logs"
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case !strings.HasPrefix(a, "-"):
			rest = append(rest, a)
		case name == "data" && hasVal:
			dir = val
		case name == "data":
			if i+1 >= len(args) {
				return "", nil, false, fmt.Errorf("%s needs a directory", a)
			}
			i++
			dir = args[i]
		case (name == "h" || name == "help") && !hasVal:
			return "", nil, true, nil
		default:
			rest = append(rest, a)
		}
	}
	return dir, rest, false, nil
}
