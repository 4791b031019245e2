package frontend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"consoled/internal/logcmd"
	"consoled/mux"
)

// PowerActions are the actions Power knows.
var PowerActions = map[string]bool{"status": true, "on": true, "off": true, "cycle": true, "reset": true}

// powerTimeout bounds one power action.
const powerTimeout = 60 * time.Second

// Power runs a power action (status, on, off, cycle, reset) on console
// name's machine; all but status need rw access. Every action that changes
// something is marked in the console's log with who did it.
func (c *Core) Power(ctx context.Context, id Identity, name, action string) (string, error) {
	if !PowerActions[action] {
		return "", fmt.Errorf("unknown power action %q (status, on, off, cycle, reset)", action)
	}
	con, acc, err := c.lookup(id, name)
	if err != nil {
		return "", err
	}
	if action != "status" && acc != ReadWrite {
		return "", c.refuse(id, name, "power", action, "read-only access")
	}
	pc := con.Power()
	if pc == nil {
		return "", ErrNoPower
	}
	ctx, cancel := context.WithTimeout(ctx, powerTimeout)
	defer cancel()
	res, err := pc.Do(ctx, action)
	c.log.Info("power", "console", name, "user", id.User, "action", action, "result", res, "err", err)
	if action != "status" {
		result := "ok"
		if err != nil {
			result = "failed: " + OneLine(err.Error())
			con.Announce(fmt.Sprintf("power %s by %s failed: %v", action, id.User, err))
		} else {
			con.Announce(fmt.Sprintf("power %s by %s: %s", action, id.User, res))
		}
		c.Record(id, name, "power", action, result)
	}
	return res, err
}

// Script attaches id to console name as its writer, for a scripted action
// (send, break): write access if free or held by id's own other session,
// or taken from whoever has it with force. action names the refusal in the
// audit log.
func (c *Core) Script(id Identity, name, action string, force bool) (*Session, error) {
	_, acc, err := c.lookup(id, name)
	if err != nil {
		return nil, err
	}
	if acc != ReadWrite {
		return nil, c.refuse(id, name, action, "", "read-only access")
	}
	s, err := c.Attach(id, name, Write)
	if err != nil {
		return nil, err
	}
	if s.Writer() {
		return s, nil
	}
	// The user's own other session (a window they type in) needs no
	// --force: it gets write access back when this one ends.
	if _, err := s.TakeWrite(force); err != nil {
		who := s.WriterName()
		s.Close()
		if errors.Is(err, mux.ErrReadOnly) {
			return nil, c.refuse(id, name, action, "", who+" has write access (--force takes it)")
		}
		return nil, err
	}
	return s, nil
}

// Send types text on console name (see Script for force).
func (c *Core) Send(id Identity, name string, text []byte, force bool) error {
	s, err := c.Script(id, name, "send", force)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Write(text); err != nil {
		if !errors.Is(err, ErrDenied) {
			c.Record(id, name, "send", "", "failed: "+OneLine(err.Error()))
		}
		return err
	}
	c.Record(id, name, "send", fmt.Sprintf("%d bytes", len(text)), "ok")
	return nil
}

// Logs runs the logs command (see internal/logcmd) for id, on consoles id
// may see. A --follow ends with ErrRevoked when a reload takes the
// console away from id. NAME may be a console set: each console's lines
// are then prefixed with its name, and a *SetError says which failed.
func (c *Core) Logs(ctx context.Context, id Identity, args []string, w io.Writer) error {
	if err := c.Stands(id); err != nil {
		return err
	}
	if set, q := parseLogsSet(args); set != "" {
		return c.logsSet(ctx, id, set, q, w)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// A console removed by a reload: its log is read to the end (the marks
	// of its stop), then the follow ends with why.
	finish := make(chan struct{})
	var gone error
	var once sync.Once
	var release func()
	allowed := func(name string) bool {
		if c.Access(id, name) == NoAccess {
			return false
		}
		if release == nil {
			release = c.hold(&holder{id: id, console: name, lost: cancel, gone: func(cause error) {
				once.Do(func() { gone = cause; close(finish) })
			}})
		}
		return true
	}
	err := logcmd.Logs(ctx, args, c.opts.LogDir, allowed, finish, w)
	if release != nil {
		release()
	}
	if cause := context.Cause(ctx); errors.Is(cause, ErrRevoked) {
		return cause
	}
	select {
	case <-finish:
		return gone
	default:
	}
	return err
}

// Panics runs the panics command (see internal/logcmd) for id, on
// consoles id may see; its names may be console sets.
func (c *Core) Panics(id Identity, args []string, w io.Writer) error {
	if err := c.Stands(id); err != nil {
		return err
	}
	if c.opts.Panics == nil {
		return nil
	}
	args, err := c.expandSets(id, args)
	if err != nil {
		return err
	}
	allowed := func(name string) bool { return c.Access(id, name) != NoAccess }
	return logcmd.Panics(args, c.opts.Panics, time.Now(), allowed, w)
}
