package mux

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"consoled/backend"
	"consoled/logstore"
)

// Item is one piece of what a client is sent: console output (Data) or a
// console event (Notice, e.g. "console down: EOF").
type Item struct {
	Data   []byte
	Notice string
}

// Client is one attached viewer or writer.
type Client struct {
	c     *Console
	Who   string // user name
	From  string // where from, e.g. the SSH client's address
	Since time.Time

	// guarded by c.mu
	out    outbox
	cause  error
	lender *Client // the writer cl took write access from: it gets it back

	barred atomic.Bool // its user may not write now: write access is not given back to it

	notify chan struct{} // cap 1: something was queued
	done   chan struct{} // closed when detached
}

// Attach adds a client. It becomes the writer if wantWrite and nobody else
// writes; Client.Writer says which it got.
func (c *Console) Attach(who, from string, wantWrite bool) *Client {
	cl := &Client{c: c, Who: who, From: from, Since: time.Now(),
		notify: make(chan struct{}, 1), done: make(chan struct{})}
	c.mu.Lock()
	if c.clients == nil { // a console nobody has attached to holds no map
		c.clients = map[*Client]struct{}{}
	}
	c.clients[cl] = struct{}{}
	mode := "ro"
	if wantWrite && c.writer == nil {
		c.writer = cl
		mode = "rw"
	}
	c.mu.Unlock()
	// The idle clock may be reading it: output now has somewhere to go.
	if s := c.sweeping.Load(); s != nil {
		s.stop()
	}
	c.cfg.Log.Mark(fmt.Sprintf("%s attached %s from %s", who, mode, from), time.Now())
	return cl
}

// sendLocked queues it for cl, or cuts cl off if it has stopped reading or
// fallen too far behind (see Config.StallAfter, Config.ClientBuffer): the
// console never waits for a client. Called with c.mu held.
func (c *Console) sendLocked(cl *Client, it Item, now time.Time) {
	if err := cl.out.admit(itemSize(it), now, c.cfg.StallAfter, c.cfg.ClientBuffer); err != nil {
		c.removeLocked(cl, err)
		return
	}
	cl.out.put(it, now)
	cl.wake()
}

// tellLocked queues a notice for cl alone; called with c.mu held. A notice
// of its own always gets through, whatever waits before it.
func (cl *Client) tellLocked(text string) {
	cl.out.put(Item{Notice: text}, time.Now())
	cl.wake()
}

// wake tells Next that something was queued.
func (cl *Client) wake() {
	select {
	case cl.notify <- struct{}{}:
	default:
	}
}

// removeLocked detaches cl with cause; called with c.mu held.
func (c *Console) removeLocked(cl *Client, cause error) {
	if _, ok := c.clients[cl]; !ok {
		return
	}
	delete(c.clients, cl)
	if y, ok := c.conn.(backend.Yielder); ok && len(c.clients) == 0 {
		y.Yield() // a reader waiting in Read gives the console back to its clock
	}
	if c.writer == cl {
		c.giveBackLocked(cl, "ended")
	}
	cl.cause = cause
	cl.out.reset()
	close(cl.done)
	// Mark takes only the log's own lock, so marking under c.mu is safe.
	if cause == ErrDetached {
		c.cfg.Log.Mark(fmt.Sprintf("%s detached", cl.Who), time.Now())
		return
	}
	c.cfg.Logger.Info("client cut off", "console", c.cfg.Name, "user", cl.Who, "from", cl.From, "cause", cause)
	c.cfg.Log.Mark(fmt.Sprintf("%s cut off: %v", cl.Who, cause), time.Now())
}

// Next waits for output and returns what waits for the client, oldest
// first: all of it, or about 32 KiB of it when more waits (each call shows
// that the client is still taking output; see Config.StallAfter). It fails
// with the detach cause once the client is detached, or ctx's error.
func (cl *Client) Next(ctx context.Context) ([]Item, error) {
	for {
		cl.c.mu.Lock()
		if cl.cause != nil {
			err := cl.cause
			cl.c.mu.Unlock()
			return nil, err
		}
		if items := cl.out.take(maxTake, time.Now()); items != nil {
			cl.c.mu.Unlock()
			return items, nil
		}
		cl.c.mu.Unlock()
		select {
		case <-cl.notify:
		case <-cl.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Done is closed when the client has been detached; Cause says why.
func (cl *Client) Done() <-chan struct{} { return cl.done }

// Cause is why the client was detached, nil while attached.
func (cl *Client) Cause() error {
	cl.c.mu.Lock()
	defer cl.c.mu.Unlock()
	return cl.cause
}

// Writer reports whether the client has write access.
func (cl *Client) Writer() bool {
	cl.c.mu.Lock()
	defer cl.c.mu.Unlock()
	return cl.c.writer == cl
}

// WriterName is who has write access now, "" if nobody.
func (cl *Client) WriterName() string {
	cl.c.mu.Lock()
	defer cl.c.mu.Unlock()
	if cl.c.writer == nil {
		return ""
	}
	return cl.c.writer.Who
}

// Write sends keystrokes to the machine. Only the writer may.
func (cl *Client) Write(p []byte) (n int, err error) {
	err = cl.withConn(func(conn backend.Conn) error {
		n, err = conn.Write(p)
		return err
	})
	if n > 0 {
		cl.c.mu.Lock()
		cl.c.bytesOut += uint64(n)
		cl.c.lastIn = time.Now()
		cl.c.mu.Unlock()
	}
	return n, err
}

// Break sends a BREAK to the machine. Only the writer may.
func (cl *Client) Break() error {
	err := cl.withConn(func(conn backend.Conn) error { return conn.Break() })
	if err == nil {
		cl.c.cfg.Log.Mark(fmt.Sprintf("%s sent BREAK", cl.Who), time.Now())
	}
	return err
}

// withConn runs f on the backend connection if cl is the writer and the
// console is up, serialized with other writes.
func (cl *Client) withConn(f func(backend.Conn) error) error {
	c := cl.c
	c.mu.Lock()
	if c.writer != cl {
		w := c.writer
		c.mu.Unlock()
		return notWriter(w)
	}
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return ErrNotUp
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return f(conn)
}

// notWriter is why a client that is not the writer w may not write: who
// writes, or that nobody does (a spy, or after the writer gave it up).
func notWriter(w *Client) error {
	if w == nil {
		return ErrNobodyWrites
	}
	return fmt.Errorf("%w (%s)", ErrReadOnly, w.Who)
}

type nobodyWrites struct{}

func (nobodyWrites) Error() string { return "read-only: nobody has write access" }

func (nobodyWrites) Is(target error) bool { return target == ErrReadOnly }

// TakeWrite gives cl write access: if nobody writes, if the writer is the
// same person (Who) in another session, or if force is set. The previous
// writer becomes a viewer until cl's write access ends, then gets it back.
// It returns the previous writer's name when one was displaced, and
// ErrReadOnly when someone else writes and force is not set.
func (cl *Client) TakeWrite(force bool) (displaced string, err error) {
	c := cl.c
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.writer == cl:
		return "", nil
	case c.writer != nil && !force && c.writer.Who != cl.Who:
		return "", fmt.Errorf("%w (%s)", ErrReadOnly, c.writer.Who)
	case c.writer != nil:
		displaced = c.writer.Who
		c.writer.tellLocked(fmt.Sprintf("write access taken over by %s from %s; you are now read-only until that session ends", cl.Who, cl.From))
	}
	cl.lender = c.writer
	c.writer = cl
	c.cfg.Log.Mark(fmt.Sprintf("%s took write access", cl.Who), time.Now())
	return displaced, nil
}

// DropWrite makes cl a viewer: its user gave up write access.
func (cl *Client) DropWrite() { cl.dropWrite("gave up write access", "gave it up") }

// LoseWrite makes cl a viewer because its user may no longer write, for
// why (e.g. "configuration reloaded"): the log says so, not that they
// gave it up.
func (cl *Client) LoseWrite(why string) {
	cl.dropWrite("lost write access ("+why+")", "lost it: "+why)
}

func (cl *Client) dropWrite(mark, told string) {
	c := cl.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writer == cl {
		c.cfg.Log.Mark(cl.Who+" "+mark, time.Now())
		c.giveBackLocked(cl, told)
	}
}

// giveBackLocked ends cl's write access: the writer it took write access
// from, if still attached, gets it back and is told; otherwise nobody
// writes. Called with c.mu held.
func (c *Console) giveBackLocked(cl *Client, why string) {
	c.writer = nil
	lender := cl.lender
	cl.lender = nil
	if _, attached := c.clients[lender]; lender == nil || !attached || lender.barred.Load() {
		return
	}
	c.writer = lender
	lender.tellLocked(fmt.Sprintf("write access is yours again (%s's session from %s %s)", cl.Who, cl.From, why))
	c.cfg.Log.Mark(fmt.Sprintf("%s has write access again", lender.Who), time.Now())
}

// Bar says whether cl's user may not write now (the policy changed): a
// barred client is never given write access back by a taker whose session
// ends. It does not take write access away (LoseWrite does).
func (cl *Client) Bar(barred bool) { cl.barred.Store(barred) }

// Close detaches the client.
func (cl *Client) Close() {
	cl.c.mu.Lock()
	defer cl.c.mu.Unlock()
	cl.c.removeLocked(cl, ErrDetached)
}

// Detach cuts the client off with cause (e.g. its access was removed):
// Next and Cause return cause, and the console's log records it.
func (cl *Client) Detach(cause error) {
	cl.c.mu.Lock()
	defer cl.c.mu.Unlock()
	cl.c.removeLocked(cl, cause)
}

// Tell queues a notice for this client alone, in order with its output.
func (cl *Client) Tell(text string) {
	cl.c.mu.Lock()
	defer cl.c.mu.Unlock()
	if cl.cause == nil {
		cl.tellLocked(text)
	}
}

// ClientInfo describes an attached client for "who is on this console".
type ClientInfo struct {
	Who    string
	From   string
	Since  time.Time
	Writer bool
}

// Clients lists the attached clients, the writer first.
func (c *Console) Clients() []ClientInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]ClientInfo, 0, len(c.clients))
	for cl := range c.clients {
		ci := ClientInfo{Who: cl.Who, From: cl.From, Since: cl.Since, Writer: cl == c.writer}
		if ci.Writer {
			out = append([]ClientInfo{ci}, out...)
		} else {
			out = append(out, ci)
		}
	}
	return out
}

// Recent returns about the last n lines the console printed (from its log).
func (c *Console) Recent(n int) ([]byte, error) { return c.cfg.Log.Tail(n) }

// RecentOutput returns about the last max bytes the machine printed (from
// its log, consoled's marks taken out), for painting its current screen.
func (c *Console) RecentOutput(max int) ([]byte, error) {
	b, err := c.cfg.Log.TailBytes(max)
	if err != nil {
		return nil, err
	}
	return logstore.MachineBytes(b), nil
}
