package mux

import (
	"time"

	"consoled/backend"
	"consoled/logstore"
)

// Status is a snapshot for listings.
type Status struct {
	Name     string
	Kind     string
	Detail   string // how the backend reaches the console, if it says
	State    State
	Since    time.Time
	Err      error // why the console is down or connecting, if it is
	LogErr   error // why bytes are not being recorded, if they are not
	Writer   string
	Viewers  int // attached clients other than the writer
	BytesIn  uint64
	BytesOut uint64 // keystrokes sent to the machine
	Ups      uint64 // connections made (reconnects = Ups - 1)
	// LastOutput is when the machine last printed something (zero: not
	// since consoled started).
	LastOutput time.Time
	Log        logstore.Stats
}

// Status reports the console's state.
func (c *Console) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{Name: c.cfg.Name, Kind: c.cfg.Dialer.Kind(), State: c.state, Since: c.since,
		Err: c.lastErr, LogErr: c.cfg.Log.Err(), Viewers: len(c.clients), BytesIn: c.bytesIn,
		BytesOut: c.bytesOut, Ups: c.ups, LastOutput: c.lastOut, Log: c.cfg.Log.Stats()}
	if d, ok := c.cfg.Dialer.(backend.Describer); ok {
		s.Detail = d.Describe()
	}
	if c.writer != nil {
		s.Writer = c.writer.Who
		s.Viewers--
	}
	return s
}
