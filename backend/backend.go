// Package backend defines the one seam between consoled and the machines whose
// consoles it holds: a Dialer that opens a Conn. A Conn is a byte stream to
// and from the machine's console plus Break. Backends never retry: the mux
// owns connect, reconnect and backoff.
package backend

import (
	"context"
	"errors"
	"io"
	"time"
)

// Conn is an open console connection. Read returns what the machine printed,
// Write sends keystrokes, Break sends a serial BREAK (or the backend's
// equivalent), Close releases everything the connection holds.
//
// Read is called from one goroutine; Write and Break may be called
// concurrently with Read but not with each other (the mux serializes them).
type Conn interface {
	io.ReadWriteCloser
	Break() error
}

// Dialer opens a connection to one console. It must honour ctx while
// connecting; once it returns, the Conn's lifetime is governed by Close.
type Dialer interface {
	Dial(ctx context.Context) (Conn, error)
	// Kind names the backend type for listings, e.g. "telnet".
	Kind() string
}

// Describer is implemented by dialers that can say how they reach the
// console, e.g. a serial line's settings "/dev/ttyS0 115200 8N1 flow=none".
type Describer interface {
	Describe() string
}

// ErrNoDevice wraps Dial errors that mean the console's device is absent
// right now (an unplugged USB serial adapter). The mux keeps polling for it
// at its shortest interval instead of backing off, since a check is cheap
// and people expect a replugged cable to work at once.
var ErrNoDevice = errors.New("device not present")

// ErrBreakUnsupported is returned by Break when a backend has no way to send
// one (e.g. an exec console with no break string configured).
var ErrBreakUnsupported = errors.New("this console has no way to send BREAK")

// TryReader is implemented by connections that can read without waiting:
// TryRead returns what has arrived, or ErrNothingYet if nothing has. The mux
// then reads many idle consoles from one goroutine in turn, instead of
// waking a goroutine per console (see mux.Config.IdleRead). So TryRead must
// never block, not even to find out why a read failed: one that blocks holds
// up every idle console. (Answering ErrNothingYet leaves it to Read.) It is
// never called while Read runs. A TryRead that returns less than len(p)
// has left nothing that had arrived before it (a backend that decodes,
// like telnet, reads on while commands decoded away leave room): the mux
// parks a quiet console after such a read.
type TryReader interface {
	TryRead(p []byte) (int, error)
}

// ErrNothingYet is TryRead's answer when no data has arrived.
var ErrNothingYet = errors.New("nothing to read yet")

// Parker is implemented by connections whose data can be waited for with
// no goroutine waiting (telnet's sockets, see backend/internal/fdconn):
// Park arms the connection, and the first Harvest of the returned
// Harvester after data (or the end of the stream) arrived calls wake, once.
// The mux's idle clock parks the quiet consoles nobody is attached to and
// harvests them at each tick: a byte arriving on one then wakes nothing,
// and one check per tick finds every console that has something to read.
// Park must not call wake itself, nor wait. The caller reads the
// connection after each Harvest and before parking it: what arrived before
// that read, the read took; what arrives after it, the next Harvest reports.
type Parker interface {
	Park(wake func()) (Harvester, error)
}

// Harvester calls the wake of every connection parked with it that can be
// read now (see Parker); it never waits.
type Harvester interface {
	Harvest()
}

// Yielder is implemented by connections whose Read, waiting for data, can
// be asked to return with nothing read (0, nil): the mux asks when the last
// client detaches, so that a console that stays silent goes back to its
// idle clock at once rather than holding a goroutine in Read until it
// prints. A Yield while no Read waits makes the next Read that finds
// nothing return so. Yield must not wait.
type Yielder interface {
	Yield()
}

// BMCEvent is one entry of a BMC's System Event Log (IPMI SEL).
type BMCEvent struct {
	ID       uint16    // record ID (a handle; not necessarily in order)
	Time     time.Time // when the BMC logged it (zero if it does not say)
	Sensor   string    // e.g. "Temperature #0x30"
	Event    string    // what happened, e.g. "Upper Critical going high"
	Asserted bool      // asserted, or deasserted
	Critical bool      // the BMC's reading of it is critical
}

// Describe is the event on one line, e.g. "Temperature #0x30 asserted:
// Upper Critical going high".
func (e BMCEvent) Describe() string {
	dir := "deasserted"
	if e.Asserted {
		dir = "asserted"
	}
	s := e.Sensor + " " + dir
	if e.Event != "" {
		s += ": " + e.Event
	}
	if e.Critical {
		s += " (critical)"
	}
	return s
}
