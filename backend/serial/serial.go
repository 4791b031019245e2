// Package serial is a console backend for a local RS-232 line: /dev/ttyS0,
// a USB adapter (/dev/ttyUSB0, /dev/serial/by-id/...), or any tty. It opens
// the device exclusively (TIOCEXCL) so that a stray `screen` cannot steal
// bytes, applies the line settings, and sends a real line BREAK of the
// configured length.
//
// A USB adapter that is unplugged makes its device node vanish: Read fails,
// the mux marks the console down, and Dial reports backend.ErrNoDevice until
// the node is back, which the mux polls for at its shortest retry interval.
package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	bugst "go.bug.st/serial"
	"golang.org/x/sys/unix"

	"consoled/backend"
	"consoled/backend/internal/pollfd"
)

// Dialer opens one serial device with fixed line settings.
type Dialer struct {
	Device   string
	Baud     int     // default 9600, like a BIOS
	DataBits int     // 5..8, default 8
	Parity   string  // none|even|odd|mark|space
	StopBits float64 // 1, 1.5 or 2
	Flow     string  // none|rtscts|xonxoff
	BreakLen time.Duration
}

// Kind implements backend.Dialer.
func (d *Dialer) Kind() string { return "serial" }

// Describe gives the line settings, e.g. "/dev/ttyUSB0 115200 8N1 flow=none break=250ms".
func (d *Dialer) Describe() string {
	d2 := d.withDefaults()
	return fmt.Sprintf("%s %d %d%s%s flow=%s break=%v", d2.Device, d2.Baud, d2.DataBits,
		strings.ToUpper(d2.Parity[:1]), strconv.FormatFloat(d2.StopBits, 'f', -1, 64), d2.Flow, d2.BreakLen)
}

func (d *Dialer) withDefaults() Dialer {
	c := *d
	if c.Baud == 0 {
		c.Baud = 9600
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.Parity == "" {
		c.Parity = "none"
	}
	if c.StopBits == 0 {
		c.StopBits = 1
	}
	if c.Flow == "" {
		c.Flow = "none"
	}
	if c.BreakLen == 0 {
		c.BreakLen = 250 * time.Millisecond
	}
	return c
}

// Dial implements backend.Dialer.
func (d *Dialer) Dial(ctx context.Context) (backend.Conn, error) {
	s := d.withDefaults()
	if err := checkDevice(s.Device); err != nil {
		return nil, err
	}
	mode, err := s.mode()
	if err != nil {
		return nil, err
	}
	port, err := bugst.Open(s.Device, mode)
	if err != nil {
		return nil, openError(s.Device, err)
	}
	fd, err := portFD(port)
	if err == nil {
		err = setFlow(fd, s.Flow)
	}
	if err != nil {
		port.Close()
		return nil, fmt.Errorf("setting flow control %s on %s: %w", s.Flow, s.Device, err)
	}
	f, err := pollfd.Open(fd, s.Device)
	if err != nil {
		port.Close()
		return nil, fmt.Errorf("opening %s: %w", s.Device, err)
	}
	return &conn{dev: s.Device, port: port, f: f, brk: s.BreakLen}, nil
}

// checkDevice turns the usual mistakes into clear errors before opening.
func checkDevice(dev string) error {
	st, err := os.Stat(dev)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w: %s does not exist (unplugged?)", backend.ErrNoDevice, dev)
	case err != nil:
		return fmt.Errorf("serial device: %w", err)
	case st.IsDir():
		return fmt.Errorf("%s is a directory, not a serial device", dev)
	case st.Mode()&os.ModeCharDevice == 0:
		return fmt.Errorf("%s is not a serial device (not a character device)", dev)
	}
	return nil
}

func openError(dev string, err error) error {
	var pe *bugst.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case bugst.PortBusy:
			return fmt.Errorf("%s is busy: another program has it open exclusively%s", dev, holders(dev))
		case bugst.PortNotFound:
			return fmt.Errorf("%w: %s does not exist (unplugged?)", backend.ErrNoDevice, dev)
		case bugst.PermissionDenied:
			return fmt.Errorf("opening %s: permission denied (is consoled in the dialout group?)", dev)
		case bugst.InvalidSerialPort:
			if errors.Is(err, syscall.ENOTTY) || strings.Contains(err.Error(), "inappropriate ioctl") {
				return fmt.Errorf("%s is not a tty: %v", dev, err)
			}
		}
	}
	return fmt.Errorf("opening %s: %w", dev, err)
}

// holders names the processes that have dev open, e.g. " (pid 812 screen)".
func holders(dev string) string {
	want, err := os.Stat(dev)
	if err != nil {
		return ""
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	seen := map[string]bool{}
	var out []string
	for _, fd := range fds {
		st, err := os.Stat(fd)
		if err != nil || !os.SameFile(st, want) {
			continue
		}
		pid := strings.Split(fd, "/")[2]
		if seen[pid] || pid == strconv.Itoa(os.Getpid()) {
			continue
		}
		seen[pid] = true
		comm, _ := os.ReadFile("/proc/" + pid + "/comm")
		out = append(out, "pid "+pid+" "+strings.TrimSpace(string(comm)))
	}
	if len(out) == 0 {
		return ""
	}
	return " (" + strings.Join(out, ", ") + ")"
}

func (d Dialer) mode() (*bugst.Mode, error) {
	m := &bugst.Mode{BaudRate: d.Baud, DataBits: d.DataBits}
	switch d.Parity {
	case "none":
		m.Parity = bugst.NoParity
	case "even":
		m.Parity = bugst.EvenParity
	case "odd":
		m.Parity = bugst.OddParity
	case "mark":
		m.Parity = bugst.MarkParity
	case "space":
		m.Parity = bugst.SpaceParity
	default:
		return nil, fmt.Errorf("parity %q: want none, even, odd, mark or space", d.Parity)
	}
	switch d.StopBits {
	case 1:
		m.StopBits = bugst.OneStopBit
	case 1.5:
		m.StopBits = bugst.OnePointFiveStopBits
	case 2:
		m.StopBits = bugst.TwoStopBits
	default:
		return nil, fmt.Errorf("stop_bits %v: want 1, 1.5 or 2", d.StopBits)
	}
	return m, nil
}

// portFD is the port's file descriptor, read from the library's unexported
// handle (pinned v1.6.x; TestFlowControlApplied fails if that changes): flow
// control and reading in Go's poller need it, and go.bug.st/serial exposes
// neither.
func portFD(port bugst.Port) (int, error) {
	v := reflect.ValueOf(port)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return 0, errors.New("unexpected serial port type")
	}
	h := v.Elem().FieldByName("handle")
	if !h.IsValid() || h.Kind() != reflect.Int {
		return 0, errors.New("serial port handle not found")
	}
	return int(h.Int()), nil
}

// setFlow applies flow control, which go.bug.st/serial does not expose: it
// switches RTS/CTS off at open.
func setFlow(fd int, flow string) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Cflag &^= unix.CRTSCTS
	t.Iflag &^= unix.IXON | unix.IXOFF | unix.IXANY
	switch flow {
	case "none":
	case "rtscts":
		t.Cflag |= unix.CRTSCTS
	case "xonxoff":
		t.Iflag |= unix.IXON | unix.IXOFF
		t.Cc[unix.VSTART], t.Cc[unix.VSTOP] = 0x11, 0x13
	default:
		return fmt.Errorf("flow %q: want none, rtscts or xonxoff", flow)
	}
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// conn reads and writes the tty through f, a non-blocking duplicate of the
// port's descriptor in Go's poller: the library's own Read waits in select,
// which holds an OS thread for every quiet console. The port still sends
// BREAK and closes the device.
type conn struct {
	dev  string
	port bugst.Port
	f    *os.File
	brk  time.Duration
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	if n > 0 {
		return n, nil
	}
	return 0, c.readErr(err)
}

// TryRead implements backend.TryReader: one read that never waits. (The
// mux never calls it while Read runs: one reader at a time.)
func (c *conn) TryRead(p []byte) (int, error) {
	n, err := pollfd.TryRead(c.f, p)
	if err == backend.ErrNothingYet {
		return 0, err
	}
	return n, c.readErr(err)
}

// readErr turns the errors of a vanished device (a hung-up tty reads as
// ended, or fails with EIO) into one that says so.
func (c *conn) readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.EIO) {
		return fmt.Errorf("%s hung up (unplugged?)", c.dev)
	}
	return err
}

func (c *conn) Write(p []byte) (int, error) { return c.f.Write(p) }

// Break holds the line in the BREAK state for the configured time.
func (c *conn) Break() error { return c.port.Break(c.brk) }

// Close ends a Read in progress and closes the device.
func (c *conn) Close() error {
	c.f.Close()
	return c.port.Close()
}
