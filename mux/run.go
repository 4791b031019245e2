// A console's life: connect, read, hand over to the idle clock, reconnect.

package mux

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"consoled/backend"
)

// runState is a console's connection life between Start and its end. It
// is a state machine, not a goroutine: a goroutine runs it only while
// there is something to do (dialing, reading for an attached client, going
// down), and a quiet console, parked with its idle clock (idle.go), or one
// waiting to reconnect, holds none; nor does it keep a context. Its steps
// follow one another (each starts the next, through a goroutine, the
// clock or a timer), so the fields not guarded by Console.mu are only
// touched by the step running.
type runState struct {
	done        func()        // called once the console has stopped
	delay       time.Duration // the next reconnect's delay, before jitter
	lastDialErr string        // the last dial error marked in the log
	up          time.Time     // when the connection came up
	stopChores  func()

	// guarded by Console.mu
	cause  error                   // why it stops (Stop's); nil while it runs
	retry  *time.Timer             // the pending reconnect
	cancel context.CancelCauseFunc // the dial in progress
}

// Start connects the backend and keeps it connected until Stop, then
// disconnects every client with Stop's cause, closes the backend, marks
// the log, and calls done. It returns at once, and holds no goroutine
// while the console is quiet and nobody is attached (with a
// backend.Parker connection) or while it waits to reconnect. Call it once.
func (c *Console) Start(done func()) {
	c.run.done, c.run.delay = done, c.cfg.MinBackoff
	go c.connect()
}

// Stop stops a console started with Start (or before it starts): its
// clients are told cause (context.Canceled if nil). It returns at once;
// Start's done says when the console has stopped. Later calls do nothing.
func (c *Console) Stop(cause error) {
	if cause == nil {
		cause = context.Canceled
	}
	c.mu.Lock()
	if c.run.cause != nil {
		c.mu.Unlock()
		return
	}
	c.run.cause = cause
	conn, cancel := c.conn, c.run.cancel
	waiting := c.run.retry != nil && c.run.retry.Stop()
	if waiting {
		c.run.retry = nil
	}
	c.mu.Unlock()
	// Wake whatever step the console is in: it finds it stopping and finishes.
	if cancel != nil {
		cancel(cause) // the dial fails
	}
	if conn != nil {
		conn.Close() // a read in progress fails; down closes it again, harmlessly
	}
	if s := c.sweeping.Load(); s != nil {
		s.stop() // a parked console resumes, reads, and finds it closed
	}
	if waiting {
		go c.finish()
	}
}

// Run is Start, and Stop with context.Cause(ctx) when ctx ends; it returns
// when the console has stopped, nil.
func (c *Console) Run(ctx context.Context) error {
	done := make(chan struct{})
	c.Start(func() { close(done) })
	stop := context.AfterFunc(ctx, func() { c.Stop(context.Cause(ctx)) })
	<-done
	stop()
	return nil
}

// stopping says whether Stop has been called.
func (c *Console) stopping() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.run.cause != nil
}

// connect dials the backend, then serves the connection or waits to try
// again. It runs on a goroutine of its own.
func (c *Console) connect() {
	// The dial's context lives as long as the dial: a console keeps none.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	c.mu.Lock()
	stopping := c.run.cause != nil
	c.run.cancel = cancel
	c.mu.Unlock()
	if stopping {
		c.finish()
		return
	}
	c.setState(StateConnecting, nil)
	conn, err := c.cfg.Dialer.Dial(ctx)
	c.mu.Lock()
	c.run.cancel = nil
	c.mu.Unlock()
	if err != nil {
		if c.stopping() {
			c.finish()
			return
		}
		c.setState(StateDown, err)
		if msg := err.Error(); msg != c.run.lastDialErr {
			// Mark a failure once, not every retry: the log stays readable.
			c.run.lastDialErr = msg
			c.cfg.Logger.Warn("connecting console", "console", c.cfg.Name, "err", err, "retry_in", c.run.delay)
			c.event(fmt.Sprintf("connect failed: %v", err), true)
		}
		c.retryLater(err)
		return
	}
	c.run.lastDialErr = ""
	// Connecting went deep (name resolution, socket setup): a fresh
	// goroutine reads, rather than one that keeps the stack grown for it.
	go c.serve(conn)
}

// serve puts an open connection in service: it is the console's from now
// on, until down takes it away.
func (c *Console) serve(conn backend.Conn) {
	c.mu.Lock()
	c.conn = conn
	c.ups++
	stopping := c.run.cause != nil
	c.mu.Unlock()
	if stopping {
		conn.Close() // Stop found no connection to close: reading finds out
	}
	c.setState(StateUp, nil)
	c.run.up = time.Now()
	c.cfg.Logger.Info("console up", "console", c.cfg.Name)
	c.event(EventUp, false)
	c.run.stopChores = c.chores(conn)
	if _, ok := conn.(backend.Parker); ok && c.cfg.IdleRead > 0 && !c.watched() {
		// Nothing read yet and nobody waiting: the idle clock finds out
		// whether the machine prints, and a silent one stays parked with
		// it, holding no read buffer and no goroutine, waking nothing.
		if c.idle(conn) {
			return
		}
	}
	c.read(conn)
}

// read reads conn on the calling goroutine until the connection fails (it
// then goes down) or nobody waits for its output any more: the console is
// then handed over to its idle clock, and read returns; the clock's sweep
// resumes it when it is wanted again (see sweep.end).
func (c *Console) read(conn backend.Conn) {
	bp := readBufs.Get().(*[]byte)
	var err error
	for {
		buf := *bp
		var n int
		n, err = conn.Read(buf)
		var watched bool
		if n > 0 {
			watched = c.output(buf[:n])
		} else {
			watched = c.watched() // Read yielded: the last client left
		}
		if err != nil {
			break
		}
		if c.cfg.IdleRead > 0 && n < len(buf) && !watched {
			readBufs.Put(bp) // idle consoles hold no buffer
			if c.idle(conn) {
				return
			}
			bp = readBufs.Get().(*[]byte)
		}
	}
	readBufs.Put(bp)
	c.down(conn, err)
}

// resume continues a console its idle clock gave back: err is why the
// clock's reads ended, nil when it is to be read at once again.
func (c *Console) resume(conn backend.Conn, err error) {
	c.sweeping.Store(nil)
	if err != nil {
		c.down(conn, err)
		return
	}
	c.read(conn)
}

// down ends a connection that failed with err (or was closed by stop),
// then waits to reconnect, or finishes when the console is stopping.
func (c *Console) down(conn backend.Conn, err error) {
	c.mu.Lock()
	c.conn = nil
	c.mu.Unlock()
	c.wmu.Lock() // wait for a Write in flight before closing under it
	conn.Close()
	c.wmu.Unlock()
	c.run.stopChores()
	c.run.stopChores = nil
	if c.stopping() {
		c.finish()
		return
	}
	c.setState(StateDown, err)
	c.cfg.Logger.Warn("console down", "console", c.cfg.Name, "err", err)
	c.event(fmt.Sprintf("%s: %v", EventDown, err), true)
	if time.Since(c.run.up) >= c.cfg.StableAfter {
		c.run.delay = c.cfg.MinBackoff
	}
	c.retryLater(err)
}

// retryLater arranges the next connect after the backoff delay (jittered),
// and doubles the delay for the one after, up to MaxBackoff.
func (c *Console) retryLater(err error) {
	if errors.Is(err, backend.ErrNoDevice) {
		c.run.delay = c.cfg.MinBackoff // poll for the device; see backend.ErrNoDevice
	}
	wait := jitter(c.run.delay)
	c.run.delay = min(c.run.delay*2, c.cfg.MaxBackoff)
	c.mu.Lock()
	if c.run.cause != nil { // Stop came before the timer
		c.mu.Unlock()
		c.finish()
		return
	}
	c.run.retry = time.AfterFunc(wait, c.retried)
	c.mu.Unlock()
}

// retried is the reconnect timer's: it runs on a goroutine of its own.
func (c *Console) retried() {
	c.mu.Lock()
	c.run.retry = nil
	c.mu.Unlock()
	c.connect()
}

// finish is the console's last step: every client is told why it stopped.
func (c *Console) finish() {
	c.mu.Lock()
	cause := c.run.cause
	c.mu.Unlock()
	c.setState(StateDown, cause)
	c.event(fmt.Sprintf("%s: %v", EventDown, cause), true)
	c.dropClients(cause)
	c.cfg.Log.Flush()
	c.run.done()
}

// jitter spreads d over [0.8d, 1.2d) so that many consoles that lost the same
// terminal server do not reconnect in lockstep.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
