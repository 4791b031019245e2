package main

import (
	"fmt"
	"log/slog"
	"syscall"

	"consoled/config"
	"consoled/logstore"
)

// Open files. Each console holds its connection (an exec console also its
// child's pidfd) and, while it prints, its log file; everything else
// (listeners, the audit log, SSH and web sessions) comes out of
// reserveFiles. When the process's open-file limit cannot hold every log
// beside the connections, logstore keeps fewer logs open at once (opening
// one closes another); when it cannot even hold the connections, consoled
// says so once, with the number it needs, instead of failing console by
// console.
const (
	reserveFiles = 256 // listeners, audit log, epoll sets, a few hundred sessions
	minLogFiles  = 64  // logs open at once, at the least
)

// filePlan is what the configured consoles need of the open-file limit.
type filePlan struct {
	limit    int // RLIMIT_NOFILE now (Go raises the soft limit to the hard one at start)
	consoles int
	conns    int // descriptors of the consoles' connections
	least    int // the least consoled can run with: connections, reserve, minLogFiles
	all      int // every log open beside its connection
	maxLogs  int // logs open at once under limit (0: no bound needed)
}

// planFiles works out cfg's needs under the open-file limit.
func planFiles(cfg *config.Config) filePlan {
	p := filePlan{consoles: len(cfg.Consoles), limit: 1 << 30}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < uint64(p.limit) {
		p.limit = int(rl.Cur)
	}
	for _, c := range cfg.Consoles {
		switch c.Kind {
		case "demo":
		case "exec":
			p.conns += 2 // the pty and the child's pidfd
		default:
			p.conns++
		}
	}
	p.least = p.conns + reserveFiles + min(minLogFiles, p.consoles)
	p.all = p.conns + reserveFiles + p.consoles
	if p.limit < p.all {
		p.maxLogs = max(minLogFiles, p.limit-p.conns-reserveFiles)
	}
	return p
}

// check says whether the limit holds the consoles, and the one message
// that says what to do when it does not.
func (p filePlan) check() error {
	if p.limit >= p.least {
		return nil
	}
	return fmt.Errorf("the open-file limit (ulimit -n) is %d, too low for %d consoles: they need at least %d open files "+
		"(%d for their connections, %d for logs being written, %d for sessions and consoled itself) and %d to keep every log open; "+
		"raise the limit to %d (ulimit -n %d, or LimitNOFILE=%d in a systemd unit)",
		p.limit, p.consoles, p.least, p.conns, min(minLogFiles, p.consoles), reserveFiles, p.all, p.all, p.all, p.all)
}

// apply bounds the logs open at once, and says so when that bound is
// below one per console.
func (p filePlan) apply(logger *slog.Logger) {
	logstore.SetMaxOpen(p.maxLogs)
	if p.maxLogs > 0 {
		logger.Warn("open-file limit: not every console's log can stay open; logs are opened and closed as consoles print",
			"limit", p.limit, "consoles", p.consoles, "logs_open_at_most", p.maxLogs, "to_keep_all_open", p.all)
	}
}
