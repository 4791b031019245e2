package sshd

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"consoled/frontend"
	"consoled/internal/cmdargs"
	"consoled/internal/expect"
)

// breakArgs is a parsed break command line.
type breakArgs struct {
	name   string
	keys   string         // typed after the BREAK, "" for none
	seq    int            // break sequence, 0 for a plain BREAK
	wait   time.Duration  // how long to show output (and look for expect)
	expect *regexp.Regexp // nil: no match wanted
	force  bool
	yes    bool // confirmed for a set (scripts)
}

// keysDelay is the pause between a BREAK and the keys after it: well
// inside the 5 s SysRq window.
const keysDelay = 200 * time.Millisecond

const breakUsage = "usage: break NAME|SET [KEYS] [--seq N] [--wait 10s] [--expect REGEX] [--force] [--yes]"

// maxBreakWait bounds --wait: a break command holds a console session and
// its output for no longer.
const maxBreakWait = 10 * time.Minute

// parseBreak parses break NAME [KEYS] [--seq N] [--wait D] [--expect RE]
// [--force]; the error is for people.
func parseBreak(args []string) (breakArgs, error) {
	a, err := cmdargs.Parse(args, []string{"wait", "expect...", "seq"}, []string{"force", "yes"})
	if err != nil || len(a.Pos) < 1 || len(a.Pos) > 2 {
		return breakArgs{}, errors.New(breakUsage)
	}
	b := breakArgs{name: a.Pos[0], wait: 10 * time.Second, force: a.Flags["force"] != "", yes: a.Flags["yes"] != ""}
	if len(a.Pos) == 2 {
		b.keys = a.Pos[1]
	}
	if _, given := a.Flags["wait"]; !given && a.Flags["expect"] == "" {
		b.wait = 2 * time.Second
	}
	if w, ok := a.Flags["wait"]; ok {
		if b.wait, err = time.ParseDuration(w); err != nil || b.wait <= 0 {
			return breakArgs{}, fmt.Errorf("--wait %q: want a duration such as 10s", w)
		}
		if b.wait > maxBreakWait {
			return breakArgs{}, fmt.Errorf("--wait %q: at most %v", w, maxBreakWait)
		}
	}
	if e, ok := a.Flags["expect"]; ok {
		if b.expect, err = regexp.Compile(e); err != nil {
			return breakArgs{}, fmt.Errorf("--expect: %v", err)
		}
	}
	if v, ok := a.Flags["seq"]; ok {
		if b.seq, err = strconv.Atoi(v); err != nil || b.seq < 1 || b.seq > 9 {
			return breakArgs{}, fmt.Errorf("--seq %q: want 1 to 9", v)
		}
	}
	return b, nil
}

// breakCmd: break NAME [KEYS] [--seq N] [--wait D] [--expect RE] [--force].
// Exit 0 when RE matched (or, without --expect, after the wait), 1 on
// timeout, 2 on refusal or error, 130 when stopped with ^C.
func (s *Server) breakCmd(ss *session) int {
	b, err := parseBreak(ss.args[1:])
	if err != nil {
		if err.Error() != breakUsage {
			err = fmt.Errorf("consoled: %w", err)
		}
		fmt.Fprintf(ss.Stderr(), "%v\n", err)
		return 2
	}
	if frontend.IsSet(b.name) {
		return s.breakSet(ss, b, b.yes)
	}
	return s.doBreak(ss, b)
}

// doBreak sends the BREAK (or sequence), then the keys, and shows what the
// console prints meanwhile, looking for b.expect.
func (s *Server) doBreak(ss *session, b breakArgs) int {
	cs, err := s.core.Script(ss.id, b.name, "break", b.force)
	if err != nil {
		return s.fail(ss, "break", b.name, err)
	}
	defer cs.Close()

	// Everything the console prints from now on goes to stdout; the last
	// 64 KiB of it are searched for the expected text.
	var seen *expect.Window
	if b.expect != nil {
		seen = expect.New(b.expect, expect.DefaultWindow)
	}
	matched := make(chan struct{})
	ctx, cancel := ss.interruptible(ss.ctx) // ^C under ssh -t stops the wait
	defer cancel()
	go func() {
		for {
			items, err := cs.Next(ctx)
			if err != nil {
				return
			}
			for _, it := range items {
				if it.Data == nil {
					continue
				}
				ss.Write(it.Data)
				if seen != nil {
					seen.Add(it.Data)
				}
			}
			if seen != nil && seen.Match() { // once per batch: the work per byte stays bounded
				close(matched)
				return
			}
		}
	}()

	detail := frontend.BreakDetail(b.seq)
	if err := cs.Break(ss.ctx, b.seq); err != nil {
		var d *frontend.DeniedError
		if errors.As(err, &d) {
			return s.fail(ss, "break", b.name, err)
		}
		fmt.Fprintf(ss.Stderr(), "consoled: %s on %s: %v\n", detail, b.name, err)
		return 2
	}
	if b.keys != "" {
		time.Sleep(keysDelay)
		if _, err := cs.Write([]byte(b.keys)); err != nil {
			fmt.Fprintf(ss.Stderr(), "consoled: sending %q: %v\n", b.keys, err)
			return 2
		}
	}
	timer := time.NewTimer(b.wait)
	defer timer.Stop()
	select {
	case <-matched:
		return 0
	case <-timer.C:
		if b.expect == nil {
			return 0
		}
		fmt.Fprintf(ss.Stderr(), "consoled: %q not seen within %v\n", b.expect.String(), b.wait)
		return 1
	case <-ctx.Done():
		if errors.Is(context.Cause(ctx), errInterrupted) {
			fmt.Fprintf(ss.Stderr(), "consoled: break: %v\n", errInterrupted)
			return exitInterrupted
		}
		return 2
	}
}
