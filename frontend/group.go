package frontend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Group is one person attached to every console of a set at once (a
// broadcast session): the output of all of them, line by line, and what
// the person types sent to each console they may write. Each console is an
// ordinary Session, so access is decided per console and per keystroke,
// and a reload acts on each as on any session.
type Group struct {
	c  *Core
	id Identity
	// Sessions are the consoles attached, sorted by name.
	Sessions []*Session
	// Missing are the consoles of the set that could not be attached
	// (named but unknown to the user, or gone meanwhile).
	Missing []Result
}

// AttachSet attaches id to every console of set (see Select) with mode.
// It fails only if no console of the set could be attached.
func (c *Core) AttachSet(id Identity, set string, mode Mode) (*Group, error) {
	names, err := c.Select(id, set)
	if err != nil {
		return nil, err
	}
	g := &Group{c: c, id: id}
	for _, n := range names {
		s, err := c.Attach(id, n, mode)
		if err != nil {
			g.Missing = append(g.Missing, Result{Console: n, Err: err})
			continue
		}
		g.Sessions = append(g.Sessions, s)
	}
	if len(g.Sessions) == 0 {
		return nil, fmt.Errorf("%w %s", ErrNoMatch, set)
	}
	return g, nil
}

// Close detaches every session of the group.
func (g *Group) Close() {
	for _, s := range g.Sessions {
		s.Close()
	}
}

// Write sends keystrokes to every console of the group where the session
// writes; it returns the consoles they did not reach, and why (refused by
// the policy, someone else writes: mux.ErrReadOnly, console down).
func (g *Group) Write(p []byte) []Result {
	var failed []Result
	for _, s := range g.Sessions {
		if _, err := s.Write(p); err != nil {
			failed = append(failed, Result{Console: s.Name(), Err: err})
		}
	}
	return failed
}

// Break sends a BREAK (n = 0) or break sequence n to every console of the
// group, all at once; one result per console.
func (g *Group) Break(ctx context.Context, n int) []Result {
	return g.each(ctx, func(ctx context.Context, s *Session) (string, error) {
		return "sent " + BreakDetail(n), s.Break(ctx, n)
	})
}

// TakeWrite takes write access on every console of the group where it is
// free (with force: from whoever has it); one result per console.
func (g *Group) TakeWrite(force bool) []Result {
	return g.each(context.Background(), func(_ context.Context, s *Session) (string, error) {
		if s.Writer() {
			return "read-write", nil
		}
		prev, err := s.TakeWrite(force)
		if err != nil {
			return "", err
		}
		if prev != "" && prev != g.id.User {
			return "read-write; " + prev + " is now read-only", nil
		}
		return "read-write", nil
	})
}

// DropWrite gives write access up on every console of the group.
func (g *Group) DropWrite() {
	for _, s := range g.Sessions {
		s.DropWrite()
	}
}

func (g *Group) each(ctx context.Context, f func(context.Context, *Session) (string, error)) []Result {
	byName := map[string]*Session{}
	var names []string
	for _, s := range g.Sessions {
		byName[s.Name()] = s
		names = append(names, s.Name())
	}
	return Each(ctx, names, func(ctx context.Context, n string) (string, error) { return f(ctx, byName[n]) })
}

// Line is one piece of a group's output: a line a console printed (Text,
// without its line end), a notice for the person about that console
// (Notice), or the end of that console's session (Ended, with Notice
// saying why).
type Line struct {
	Console string
	Text    []byte
	Partial bool // the console has not ended this line yet (a prompt, a menu)
	Notice  string
	Ended   bool
}

// MaxLine bounds a line held back for its end; a longer one is passed on
// in pieces.
const MaxLine = 16 << 10

// Lines passes every console's output to emit as whole lines, each
// console's in order and one emit at a time, until ctx ends or every
// session has ended. A line a console leaves open (a prompt, a menu drawn
// without line ends) is passed on, Partial, once that console has been
// quiet for quiet.
func (g *Group) Lines(ctx context.Context, quiet time.Duration, emit func(Line)) {
	var mu sync.Mutex
	send := func(l Line) {
		mu.Lock()
		defer mu.Unlock()
		emit(l)
	}
	var wg sync.WaitGroup
	for _, s := range g.Sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pumpLines(ctx, s, quiet, send)
		}()
	}
	wg.Wait()
}

// pumpLines cuts one session's output into lines for Lines.
func pumpLines(ctx context.Context, s *Session, quiet time.Duration, send func(Line)) {
	name := s.Name()
	var open []byte
	for {
		wait := ctx
		cancel := func() {}
		if len(open) > 0 {
			wait, cancel = context.WithTimeout(ctx, quiet)
		}
		items, err := s.Next(wait)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
			send(Line{Console: name, Text: open, Partial: true})
			open = nil
			continue
		case err != nil:
			if len(open) > 0 {
				send(Line{Console: name, Text: open, Partial: true})
			}
			if ctx.Err() == nil {
				send(Line{Console: name, Notice: "disconnected: " + err.Error(), Ended: true})
			}
			return
		}
		for _, it := range items {
			if it.Notice != "" {
				send(Line{Console: name, Notice: it.Notice})
				continue
			}
			open = append(open, it.Data...)
			for {
				if i := bytes.IndexByte(open, '\n'); i >= 0 {
					send(Line{Console: name, Text: bytes.TrimSuffix(open[:i], []byte("\r"))})
					open = append([]byte(nil), open[i+1:]...)
					continue
				}
				if len(open) >= MaxLine {
					send(Line{Console: name, Text: open[:MaxLine], Partial: true})
					open = append([]byte(nil), open[MaxLine:]...)
					continue
				}
				break
			}
		}
	}
}
