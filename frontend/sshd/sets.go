package sshd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"consoled/consoleset"
	"consoled/frontend"
)

// out is the session's stdout, with CRLF line ends under a pty.
func (ss *session) out() io.Writer {
	if _, _, pty := ss.Session.Pty(); pty {
		return crlf{ss.Session}
	}
	return ss.Session
}

// selectSet resolves a console set for the session's user; on an error it
// tells the user and returns the exit status (2: a bad set or none chosen).
func (s *Server) selectSet(ss *session, set string) ([]string, int) {
	names, err := s.core.Select(ss.id, set)
	switch {
	case err == nil:
		return names, 0
	case errors.Is(err, consoleset.ErrSyntax), errors.Is(err, frontend.ErrNoMatch):
		fmt.Fprintf(ss.Stderr(), "consoled: %v\n", err)
		return nil, 2
	}
	return nil, s.fail(ss, "console set", set, err)
}

// confirm asks before a destructive action (what, e.g. "power cycle") on
// more than one console: in a terminal the user answers y; a script needs
// --yes (yes). It returns whether to go on, and the exit status if not.
func (s *Server) confirm(ss *session, what string, names []string, yes bool) (bool, int) {
	if len(names) < 2 || yes {
		return true, 0
	}
	shown := strings.Join(names, ", ")
	if len(names) > 10 {
		shown = strings.Join(names[:10], ", ") + fmt.Sprintf(", ... (%d more)", len(names)-10)
	}
	return s.ask(ss, fmt.Sprintf("%s on %d consoles (%s)", what, len(names), shown), what)
}

// ask asks "question? [y/N]" in a terminal, where y goes on; a script
// cannot answer, and is told to give --yes. It returns whether to go on,
// and the exit status if not (1 declined, 2 a script without --yes).
func (s *Server) ask(ss *session, question, what string) (bool, int) {
	if _, _, pty := ss.Pty(); !pty {
		fmt.Fprintf(ss.Stderr(), "consoled: %s needs --yes in a script\n", question)
		return false, 2
	}
	fmt.Fprintf(ss, "%s? [y/N] ", question)
	var b [1]byte
	for {
		n, err := ss.Read(b[:])
		if err != nil {
			return false, 1
		}
		if n == 1 {
			break
		}
	}
	fmt.Fprintf(ss, "%c\r\n", printable(b[0]))
	if b[0] != 'y' && b[0] != 'Y' {
		fmt.Fprintf(ss.Stderr(), "consoled: %s not done\n", what)
		return false, 1
	}
	return true, 0
}

// why is a failed result as its line shows it.
func why(err error) string {
	var d *frontend.DeniedError
	switch {
	case errors.As(err, &d):
		return "refused: " + d.Why
	case errors.Is(err, frontend.ErrNoConsole):
		return "no such console"
	}
	return "failed: " + frontend.OneLine(err.Error())
}

// results prints one line per console and returns the exit status: 1 if
// the action failed on any (stderr names them), 0 otherwise.
func (s *Server) results(ss *session, what string, res []frontend.Result) int {
	w := ss.out()
	for _, r := range res {
		line := r.Out
		if r.Err != nil {
			line = why(r.Err)
		}
		fmt.Fprintf(w, "%s: %s\n", r.Console, line)
	}
	if failed := frontend.Failed(res); len(failed) > 0 {
		fmt.Fprintf(ss.Stderr(), "consoled: %s failed on %d of %d consoles: %s\n", what, len(failed), len(res), strings.Join(failed, ", "))
		return 1
	}
	return 0
}

// powerSet runs a power action on every console of a set.
func (s *Server) powerSet(ss *session, set, action string, yes bool) int {
	names, code := s.selectSet(ss, set)
	if names == nil {
		return code
	}
	what := "power " + action
	if action != "status" {
		if ok, code := s.confirm(ss, what, names, yes); !ok {
			return code
		}
	}
	res := frontend.Each(ss.ctx, names, func(ctx context.Context, n string) (string, error) {
		return s.core.Power(ctx, ss.id, n, action)
	})
	return s.results(ss, what, res)
}

// sendSet types text on every console of a set.
func (s *Server) sendSet(ss *session, set string, text []byte, force, yes bool) int {
	names, code := s.selectSet(ss, set)
	if names == nil {
		return code
	}
	if ok, code := s.confirm(ss, "send", names, yes); !ok {
		return code
	}
	res := frontend.Each(ss.ctx, names, func(ctx context.Context, n string) (string, error) {
		if err := s.core.Send(ss.id, n, text, force); err != nil {
			return "", err
		}
		return fmt.Sprintf("sent %d bytes", len(text)), nil
	})
	return s.results(ss, "send", res)
}

// whoSet lists the people attached to each console of a set, one line per
// person (or "-" for nobody), each prefixed with the console's name.
func (s *Server) whoSet(ss *session, set string) int {
	names, code := s.selectSet(ss, set)
	if names == nil {
		return code
	}
	var res []frontend.Result
	for _, n := range names {
		clients, err := s.core.Who(ss.id, n)
		if err != nil {
			res = append(res, frontend.Result{Console: n, Err: err})
			continue
		}
		if len(clients) == 0 {
			res = append(res, frontend.Result{Console: n, Out: "-"})
		}
		for _, ci := range clients {
			res = append(res, frontend.Result{Console: n, Out: whoLine(ci)})
		}
	}
	return s.results(ss, "who", res)
}

// listSet is list restricted to a set; plain names that are no console
// the user may see are reported (exit 1).
func (s *Server) listSet(ss *session, set string, json bool) int {
	if s.opts.Cluster != nil && !ss.forwarded {
		return s.clusterListSet(ss, set, json)
	}
	names, code := s.selectSet(ss, set)
	if names == nil {
		return code
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var entries []frontend.Entry
	for _, e := range s.core.List(ss.id) {
		if want[e.Name] {
			entries = append(entries, e)
			delete(want, e.Name)
		}
	}
	if json {
		s.writeJSONEntries(ss, entries)
	} else {
		s.writeEntries(ss, entries, "\n")
	}
	if len(want) > 0 {
		var missing []string
		for _, n := range names {
			if want[n] {
				missing = append(missing, n)
			}
		}
		fmt.Fprintf(ss.Stderr(), "consoled: no console %s\n", strings.Join(missing, ", "))
		return 1
	}
	return 0
}

// breakSet sends a BREAK (and keys) to every console of a set, each
// watched for b.expect; one result line per console.
func (s *Server) breakSet(ss *session, b breakArgs, yes bool) int {
	names, code := s.selectSet(ss, b.name)
	if names == nil {
		return code
	}
	detail := frontend.BreakDetail(b.seq)
	if ok, code := s.confirm(ss, detail, names, yes); !ok {
		return code
	}
	ctx, cancel := ss.interruptible(ss.ctx) // ^C under ssh -t stops the waits
	defer cancel()
	res := frontend.Each(ctx, names, func(ctx context.Context, n string) (string, error) {
		one := b
		one.name = n
		return s.breakOne(ctx, ss.id, one)
	})
	if errors.Is(context.Cause(ctx), errInterrupted) {
		fmt.Fprintf(ss.Stderr(), "consoled: break: %v\n", errInterrupted)
		return exitInterrupted
	}
	return s.results(ss, "break", res)
}

// errNotSeen: break --expect did not see its text in time.
var errNotSeen = errors.New("not seen")

// breakOne is break on one console of a set: what it answers is the line
// that matched --expect, or that the BREAK was sent.
func (s *Server) breakOne(ctx context.Context, id frontend.Identity, b breakArgs) (string, error) {
	cs, err := s.core.Script(id, b.name, "break", b.force)
	if err != nil {
		return "", err
	}
	defer cs.Close()
	matched := make(chan string, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		var seen []byte
		for {
			items, err := cs.Next(ctx)
			if err != nil {
				return
			}
			for _, it := range items {
				if it.Data == nil || b.expect == nil {
					continue
				}
				seen = append(seen, it.Data...)
				if loc := b.expect.FindIndex(seen); loc != nil {
					matched <- matchedLine(seen, loc)
					return
				}
			}
		}
	}()
	if err := cs.Break(ctx, b.seq); err != nil {
		return "", err
	}
	if b.keys != "" {
		select {
		case <-time.After(keysDelay):
		case <-ctx.Done():
			return "", context.Cause(ctx)
		}
		if _, err := cs.Write([]byte(b.keys)); err != nil {
			return "", fmt.Errorf("sending %q: %w", b.keys, err)
		}
	}
	sent := frontend.BreakDetail(b.seq) + " sent"
	timer := time.NewTimer(b.wait)
	defer timer.Stop()
	select {
	case line := <-matched:
		return fmt.Sprintf("%s, matched: %q", sent, line), nil
	case <-timer.C:
		if b.expect == nil {
			return sent, nil
		}
		return "", fmt.Errorf("%w within %v: %q", errNotSeen, b.wait, b.expect.String())
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
}

// matchedLine is the line of seen around the match at loc, for people.
func matchedLine(seen []byte, loc []int) string {
	start, end := loc[0], loc[1]
	for start > 0 && seen[start-1] != '\n' {
		start--
	}
	for end < len(seen) && seen[end] != '\n' {
		end++
	}
	line := []rune(string(seen[start:end]))
	out := line[:0]
	for _, r := range line {
		if r >= 0x20 && r != 0x7f && (r < 0x80 || r >= 0xa0) {
			out = append(out, r)
		}
	}
	return strings.TrimSpace(string(out))
}
