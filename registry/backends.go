package registry

import (
	"time"

	"consoled/backend"
	"consoled/backend/demo"
	"consoled/backend/exec"
	"consoled/backend/ipmi"
	"consoled/backend/serial"
	"consoled/backend/telnet"
	"consoled/config"
	"consoled/logstore"
	"consoled/mux"
)

// dialer builds the backend a console's config names.
func dialer(c *config.Console) backend.Dialer {
	switch {
	case c.Telnet != nil:
		return &telnet.Dialer{Address: c.Telnet.Address}
	case c.Serial != nil:
		s := c.Serial
		return &serial.Dialer{Device: s.Device, Baud: s.Baud, DataBits: s.DataBits, Parity: s.Parity,
			StopBits: s.StopBits, Flow: s.Flow, BreakLen: time.Duration(s.BreakMs) * time.Millisecond}
	case c.IPMI != nil:
		return &ipmi.Dialer{Options: ipmiOptions(c.IPMI), Steal: c.IPMI.Steal}
	case c.Exec != nil:
		return &exec.Dialer{Command: c.Exec.Command, Dir: c.Exec.Dir, BreakSeq: c.Exec.Break,
			Rows: uint16(c.Exec.Rows), Cols: uint16(c.Exec.Cols)}
	default:
		return &demo.Dialer{Hostname: c.Name}
	}
}

func ipmiOptions(m *config.IPMI) ipmi.Options {
	return ipmi.Options{Address: m.Address, User: m.User, Password: m.Password,
		CipherSuite: m.CipherSuite, Privilege: m.Privilege}
}

// takeBackMark is the mark of a SOL session taken back from consoled's
// previous run.
const takeBackMark = "took back the SOL session left by consoled's previous run"

// takeBackStale arms an ipmi console's dialer to take back, on its first
// connect, the SOL session that consoled's previous run may have left
// active on the BMC: when that run died while the console was up (its log
// ends with the console up and not down; a clean stop marks it down), the
// session was consoled's, and the BMC would keep it, refusing everyone,
// until it timed it out. A session anyone else holds stays theirs unless
// steal = true.
func (r *Registry) takeBackStale(name string, d backend.Dialer, lg *logstore.Log) {
	id, ok := d.(*ipmi.Dialer)
	if !ok {
		return
	}
	died, err := mux.DiedUp(r.logDir, name)
	if err != nil {
		r.logger.Warn("reading the log to see how consoled's previous run left the console", "console", name, "err", err)
		return
	}
	if !died {
		return
	}
	id.OnTakeBack = func() {
		r.logger.Info(takeBackMark, "console", name)
		lg.Mark(takeBackMark, time.Now())
	}
	id.TakeBackStale()
}
