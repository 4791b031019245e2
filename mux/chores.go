package mux

import (
	"context"
	"errors"
	"sync"
	"time"

	"consoled/backend"
	"consoled/breakseq"
)

// errConnGone: the connection a chore was for has closed.
var errConnGone = errors.New("the console's connection has closed")

// chores starts what consoled itself sends to the machine on conn while it
// is up (until the returned stop): the initcmd once, and the
// idle string whenever the console has been silent both ways for
// IdleAfter. Neither holds a goroutine while it waits.
func (c *Console) chores(conn backend.Conn) (stop func()) {
	if c.cfg.InitCmd == nil && (c.cfg.IdleString == nil || c.cfg.IdleAfter <= 0) {
		return func() {} // most consoles: nothing to keep
	}
	var stops []func()
	if c.cfg.InitCmd != nil {
		ctx, cancel := context.WithCancel(context.Background())
		stops = append(stops, cancel)
		go func() {
			err := breakseq.Send(ctx, selfSender{c, conn}, *c.cfg.InitCmd)
			if err != nil && ctx.Err() == nil {
				c.cfg.Logger.Warn("sending initcmd", "console", c.cfg.Name, "err", err)
				c.cfg.Log.Mark("initcmd not sent: "+err.Error(), time.Now())
				return
			}
			if err == nil {
				c.cfg.Log.Mark("initcmd sent", time.Now())
			}
		}()
	}
	if c.cfg.IdleString != nil && c.cfg.IdleAfter > 0 {
		stops = append(stops, c.keepAwake(conn))
	}
	return func() {
		for _, f := range stops {
			f()
		}
	}
}

// keepAwake sends the idle string after IdleAfter of silence both ways,
// from a timer, until the returned stop.
func (c *Console) keepAwake(conn backend.Conn) (stop func()) {
	c.mu.Lock()
	c.lastIn = time.Now() // the silence counts from the connection
	c.mu.Unlock()
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	var check func()
	check = func() {
		for {
			c.mu.Lock()
			last := c.lastIn
			if c.lastOut.After(last) {
				last = c.lastOut
			}
			c.mu.Unlock()
			wait := time.Until(last.Add(c.cfg.IdleAfter))
			if wait > 0 {
				mu.Lock()
				if !stopped {
					t.Reset(wait)
				}
				mu.Unlock()
				return
			}
			if _, err := (selfSender{c, conn}).Write(c.cfg.IdleString); err != nil {
				return // the connection is gone
			}
			c.cfg.Logger.Debug("idle string sent", "console", c.cfg.Name)
		}
	}
	mu.Lock()
	t = time.AfterFunc(c.cfg.IdleAfter, check)
	mu.Unlock()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}

// selfSender writes to the machine for consoled itself (not a client),
// serialized with the clients' writes, only while conn is the console's
// connection.
type selfSender struct {
	c    *Console
	conn backend.Conn
}

func (s selfSender) do(f func() error) error {
	s.c.wmu.Lock()
	defer s.c.wmu.Unlock()
	s.c.mu.Lock()
	same := s.c.conn == s.conn
	s.c.mu.Unlock()
	if !same {
		return errConnGone
	}
	return f()
}

func (s selfSender) Write(p []byte) (n int, err error) {
	err = s.do(func() error {
		n, err = s.conn.Write(p)
		return err
	})
	if n > 0 {
		s.c.mu.Lock()
		s.c.bytesOut += uint64(n)
		s.c.lastIn = time.Now()
		s.c.mu.Unlock()
	}
	return n, err
}

func (s selfSender) Break() error { return s.do(s.conn.Break) }
