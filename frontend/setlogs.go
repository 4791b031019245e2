package frontend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"consoled/internal/logcmd"
	"consoled/logstore"
)

// SetError is an action on a console set that failed on some of its
// consoles (Failed holds their results); it succeeded on the others.
type SetError struct{ Failed []Result }

// Error names the consoles it failed on and why.
func (e *SetError) Error() string {
	var parts []string
	for _, r := range e.Failed {
		parts = append(parts, fmt.Sprintf("%s (%v)", r.Console, r.Err))
	}
	return fmt.Sprintf("failed on %d console(s): %s", len(e.Failed), strings.Join(parts, "; "))
}

// setError is nil if every result succeeded.
func setError(res []Result) error {
	var failed []Result
	for _, r := range res {
		if r.Err != nil {
			failed = append(failed, r)
		}
	}
	if failed == nil {
		return nil
	}
	return &SetError{Failed: failed}
}

// logsSet runs a logs query on every console of set id may see, each line
// prefixed with its console's name: one console after the other, or all
// at once with --follow (lines kept whole). A console a reload takes away
// from id ends its part with ErrRevoked.
func (c *Core) logsSet(ctx context.Context, id Identity, set string, q *logstore.Query, w io.Writer) error {
	names, err := c.Select(id, set)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	run := func(ctx context.Context, name string) (string, error) {
		if _, _, err := c.lookup(id, name); err != nil {
			return "", err
		}
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		release := c.hold(&holder{id: id, console: name, lost: cancel})
		defer release()
		lw := &LineWriter{W: w, Mu: &mu, Prefix: name + ": "}
		err := q.Run(ctx, c.opts.LogDir, name, lw)
		lw.Flush()
		if cause := context.Cause(ctx); errors.Is(cause, ErrRevoked) {
			return "", cause
		}
		if err != nil && ctx.Err() != nil {
			err = nil // the client went: not a failure of this console
		}
		return "", err
	}
	var res []Result
	if q.Follow {
		res = make([]Result, len(names))
		var wg sync.WaitGroup
		for i, n := range names { // every console at once: a follow never ends by itself
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := run(ctx, n)
				res[i] = Result{Console: n, Out: out, Err: err}
			}()
		}
		wg.Wait()
	} else {
		for _, n := range names {
			out, err := run(ctx, n)
			res = append(res, Result{Console: n, Out: out, Err: err})
		}
	}
	return setError(res)
}

// parseLogsSet reads a logs command line and returns its console set and
// query when it names a set ("" when it names one console, or is bad: the
// single-console path reports that).
func parseLogsSet(args []string) (string, *logstore.Query) {
	name, q, err := logcmd.ParseLogs(args, time.Now())
	if err != nil || !IsSet(name) {
		return "", nil
	}
	return name, q
}

// expandSets replaces each console set among a panics command line's
// names by the consoles it chooses for id.
func (c *Core) expandSets(id Identity, args []string) ([]string, error) {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--since" || a == "-since":
			out = append(out, a)
			if i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
		case strings.HasPrefix(a, "-") || !IsSet(a):
			out = append(out, a)
		default:
			names, err := c.Select(id, a)
			if err != nil {
				return nil, err
			}
			out = append(out, names...)
		}
	}
	return out, nil
}
