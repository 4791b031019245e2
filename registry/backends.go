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
)

// dialer builds the backend a console's config names.
func dialer(c config.Console) backend.Dialer {
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
