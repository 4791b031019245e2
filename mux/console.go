package mux

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"consoled/backend"
	"consoled/breakseq"
	"consoled/logstore"
)

// State is where a console's backend connection stands.
type State string

// Connection states reported by Status.
const (
	StateConnecting State = "connecting"
	StateUp         State = "up"
	StateDown       State = "down"
)

// Errors a client sees.
var (
	ErrReadOnly = errors.New("read-only: another user has write access")
	ErrNotUp    = errors.New("console is not connected")
	// ErrNobodyWrites is ErrReadOnly (errors.Is says so) when no client
	// has write access: it has to be taken first.
	ErrNobodyWrites error = nobodyWrites{}
	// ErrStalled is why a client that stopped reading was cut off: it took
	// no output for Config.StallAfter while output waited for it.
	ErrStalled = errors.New("output was not being read")
	// ErrTooSlow is why a client that reads, but more slowly than the
	// console prints, was cut off: Config.ClientBuffer bytes waited for it.
	ErrTooSlow  = errors.New("output was not being read fast enough")
	ErrDetached = errors.New("detached")
	// ErrBreakUnsupported is Client.Break's error when the console's
	// backend has no way to send a BREAK (the backend's own error, so
	// clients need not import backend to recognise it).
	ErrBreakUnsupported = backend.ErrBreakUnsupported
)

// PowerControl switches the machine behind a console: action is status,
// on, off, cycle or reset; the result is for people ("power is on").
type PowerControl interface {
	Do(ctx context.Context, action string) (string, error)
}

// Config describes one console.
type Config struct {
	Name   string
	Dialer backend.Dialer
	Log    *logstore.Log
	Logger *slog.Logger
	// Power is the machine's power control; nil when it has none.
	Power PowerControl

	MinBackoff time.Duration // first retry delay; 1 s when zero
	MaxBackoff time.Duration // cap on the retry delay; 60 s when zero
	// StableAfter is how long a connection must last for the backoff to
	// start again from MinBackoff; 10 s when zero.
	StableAfter time.Duration
	// StallAfter is how long a client may take no output while output
	// waits for it: it has stopped reading, and the next output cuts it off
	// (ErrStalled). 10 s when zero. A client that reads is never cut off
	// for a burst, however large, as long as it takes some of it in time.
	StallAfter time.Duration
	// ClientBuffer bounds the bytes waiting for one client, as a bound on
	// memory: a client that falls further behind is cut off (ErrTooSlow).
	// What waits is shared by the clients of a console (each holds the
	// same chunks), so it bounds a console's memory too, however many
	// clients lag. 64 MiB when zero.
	ClientBuffer int
	// Observers see every byte of output right after it is logged, on the
	// goroutine that read it (one resumed to read the console, or its idle
	// clock's, which reads many consoles in turn; e.g. panic detection),
	// never two at once for a console: they must be quick.
	Observers []func([]byte)
	// IdleRead is how long output may wait in the backend (the kernel's
	// socket or tty buffer) while nobody is attached: it only goes to the
	// log then, so one read per interval takes what arrived in many small
	// pieces, and goes to disk at once. 90 ms when zero, the log's flush
	// interval: either way output is on disk within 90 ms of arriving, which
	// leaves room for scheduling within the README's "a crash loses at most
	// about the last 100 ms". Negative reads eagerly, as does a connection
	// that is not a backend.TryReader. Attached clients always get output as
	// soon as it arrives.
	IdleRead time.Duration
	// InitCmd is sent to the machine each time the console comes up
	// (conserver's initcmd, e.g. "\r" to wake a switch's CLI); nil: none.
	InitCmd *breakseq.Seq
	// IdleString is sent to the machine after IdleAfter without output or
	// input (conserver's idlestring), for devices that log out idle
	// sessions; nil: never.
	IdleString []byte
	IdleAfter  time.Duration
}

// DefaultIdleRead is Config.IdleRead when zero.
const DefaultIdleRead = 90 * time.Millisecond

// Console is one console and the clients attached to it.
type Console struct {
	cfg Config

	mu       sync.Mutex
	state    State
	since    time.Time
	lastErr  error
	conn     backend.Conn
	clients  map[*Client]struct{}
	writer   *Client
	bytesIn  uint64
	bytesOut uint64
	ups      uint64    // connections made
	lastOut  time.Time // when the machine last printed something
	lastIn   time.Time // when something was last sent to the machine

	wmu sync.Mutex // serializes Write and Break on conn

	sweeping atomic.Pointer[sweep] // set while its idle clock reads it
	run      runState              // its connection's life (run.go)
}

// New returns a console; call Run to connect it.
func New(cfg Config) *Console {
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 60 * time.Second
	}
	if cfg.StableAfter <= 0 {
		cfg.StableAfter = 10 * time.Second
	}
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = 10 * time.Second
	}
	if cfg.ClientBuffer <= 0 {
		cfg.ClientBuffer = 64 << 20
	}
	if cfg.IdleRead == 0 {
		cfg.IdleRead = DefaultIdleRead
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Console{cfg: cfg, state: StateConnecting, since: time.Now()}
}

// Name is the console's name.
func (c *Console) Name() string { return c.cfg.Name }

// Power is the machine's power control, nil when it has none.
func (c *Console) Power() PowerControl { return c.cfg.Power }

// readBufs are the readers' buffers: a 115200-baud line fills 2 KiB in a
// sixth of a second.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 2<<10); return &b }}

// output records p, then queues it for every client. It says whether
// there were any.
func (c *Console) output(p []byte) bool {
	c.cfg.Log.Write(p)
	for _, o := range c.cfg.Observers {
		o(p)
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bytesIn += uint64(len(p))
	c.lastOut = now
	if len(c.clients) == 0 {
		return false
	}
	chunk := append([]byte(nil), p...) // shared, read-only, by all clients
	for cl := range c.clients {
		c.sendLocked(cl, Item{Data: chunk}, now)
	}
	return true
}

// event marks the log and tells every attached client. endsLine is for
// events that end the current line of output (the connection is gone).
func (c *Console) event(text string, endsLine bool) {
	if endsLine {
		c.cfg.Log.MarkEnd(text, time.Now())
	} else {
		c.cfg.Log.Mark(text, time.Now())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for cl := range c.clients {
		c.sendLocked(cl, Item{Notice: text}, now)
	}
}

func (c *Console) setState(s State, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s != c.state {
		c.since = time.Now()
	}
	c.state, c.lastErr = s, err
}

func (c *Console) dropClients(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for cl := range c.clients {
		c.removeLocked(cl, cause)
	}
}
