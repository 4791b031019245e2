// Package demo is a console backend with a small simulated machine behind it,
// so that consoled shows a working console with no hardware: it boots with
// kernel-like messages, runs a shell prompt that echoes what is typed and
// answers a few commands, and reacts to BREAK like Linux's magic SysRq
// (BREAK, then within 5 s: h help, t tasks, m memory, c crash, b reboot).
package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"consoled/backend"
	"consoled/backend/internal/outq"
)

// Dialer boots a new simulated machine on every Dial.
type Dialer struct {
	// Hostname is printed in the prompt; "demo" when empty.
	Hostname string
	// LineDelay paces the boot messages; 80 ms when zero.
	LineDelay time.Duration
}

// Kind implements backend.Dialer.
func (d *Dialer) Kind() string { return "demo" }

// Dial implements backend.Dialer.
func (d *Dialer) Dial(ctx context.Context) (backend.Conn, error) {
	m := &machine{host: d.Hostname, delay: d.LineDelay, started: time.Now()}
	if m.host == "" {
		m.host = "demo"
	}
	if m.delay == 0 {
		m.delay = 80 * time.Millisecond
	}
	m.boot()
	return m, nil
}

const sysrqWindow = 5 * time.Second

type machine struct {
	host    string
	delay   time.Duration
	started time.Time

	out outq.Q // what it printed, for Read

	mu      sync.Mutex
	closed  bool
	booting bool
	crashed bool
	gen     int // boot generation; stale boot timers check it
	line    []byte
	sysrq   time.Time // BREAK seen; a key before this deadline is a SysRq key
}

var bootLines = []string{
	"Linux version 6.1.0-demo (consoled@demo) (gcc 12.2.0) #1 SMP PREEMPT_DYNAMIC",
	"Command line: console=ttyS0,115200 sysrq_always_enabled=1",
	"BIOS-provided physical RAM map:",
	"Memory: 241296K/261624K available",
	"Serial: 8250/16550 driver, 4 ports, IRQ sharing enabled",
	"00:04: ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A",
	"printk: console [ttyS0] enabled",
	"Freeing unused kernel image (initmem) memory: 2704K",
	"Run /init as init process",
}

// boot prints the boot messages one by one, then the banner and a prompt.
// Called with mu held or before the machine is shared.
func (m *machine) boot() {
	m.gen++
	gen := m.gen
	m.booting, m.crashed = true, false
	m.started = time.Now()
	m.line = m.line[:0]
	for i, l := range bootLines {
		i, l := i, l
		time.AfterFunc(time.Duration(i+1)*m.delay, func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.gen == gen {
				m.emitf("%s %s\r\n", stamp(i), l)
			}
		})
	}
	time.AfterFunc(time.Duration(len(bootLines)+2)*m.delay, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.gen == gen {
			m.booting = false
			m.emitf("\r\nconsoled demo machine %s. Type 'help'. BREAK (^Ecl0) then h: SysRq help.\r\n\r\n", m.host)
			m.prompt()
		}
	})
}

func (m *machine) prompt() { m.emitf("%s:~# ", m.host) }

func (m *machine) emitf(format string, a ...any) { m.out.Put(fmt.Appendf(nil, format, a...)) }

// Read blocks until the machine prints something or the connection closes.
func (m *machine) Read(p []byte) (int, error) { return m.out.Read(p) }

// TryRead implements backend.TryReader.
func (m *machine) TryRead(p []byte) (int, error) { return m.out.TryRead(p) }

// Write is keyboard input.
func (m *machine) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, io.ErrClosedPipe
	}
	for _, b := range p {
		m.key(b)
	}
	return len(p), nil
}

func (m *machine) Break() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sysrq = time.Now().Add(sysrqWindow)
	return nil
}

func (m *machine) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.gen++
	m.out.End(io.EOF)
	return nil
}

func (m *machine) key(b byte) {
	if !m.sysrq.IsZero() {
		live := time.Now().Before(m.sysrq)
		m.sysrq = time.Time{}
		if live {
			m.sysrqKey(b)
			return
		}
	}
	if m.booting || m.crashed {
		return
	}
	switch b {
	case '\r', '\n':
		m.emitf("\r\n")
		m.run(strings.TrimSpace(string(m.line)))
		m.line = m.line[:0]
		m.prompt()
	case 0x7f, 0x08:
		if len(m.line) > 0 {
			m.line = m.line[:len(m.line)-1]
			m.emitf("\b \b")
		}
	case 0x03:
		m.line = m.line[:0]
		m.emitf("^C\r\n")
		m.prompt()
	default:
		if b >= 0x20 && b < 0x7f && len(m.line) < 1024 {
			m.line = append(m.line, b)
			m.out.Put([]byte{b})
		}
	}
}

func (m *machine) sysrqKey(b byte) {
	switch b {
	case 'h':
		m.emitf("sysrq: HELP : loglevel(0-9) reboot(b) crash(c) show-memory-usage(m) show-task-states(t)\r\n")
	case 't':
		m.emitf("sysrq: Show State\r\n")
		for i, name := range []string{"init", "kthreadd", "rcu_gp", "ksoftirqd/0", "sh"} {
			m.emitf("task:%-15s state:S stack:0     pid:%-5d ppid:%d flags:0x00000000\r\n", name, i+1, min(i, 1))
		}
	case 'm':
		m.emitf("sysrq: Show Memory\r\nMem-Info:\r\nactive_anon:102 inactive_anon:0 free:60234\r\n")
	case 'c':
		m.emitf("sysrq: Trigger a crash\r\nKernel panic - not syncing: sysrq triggered crash\r\n")
		m.emitf("CPU: 0 PID: 1 Comm: sh Not tainted 6.1.0-demo #1\r\nCall Trace:\r\n <TASK>\r\n dump_stack_lvl+0x44/0x5c\r\n panic+0x118/0x2ed\r\n </TASK>\r\n")
		m.emitf("---[ end Kernel panic - not syncing: sysrq triggered crash ]---\r\n")
		m.crashed = true
	case 'b':
		m.emitf("sysrq: Resetting\r\n")
		m.boot()
	default:
		m.emitf("sysrq: HELP : loglevel(0-9) reboot(b) crash(c) show-memory-usage(m) show-task-states(t)\r\n")
	}
}

func (m *machine) run(cmdline string) {
	args := strings.Fields(cmdline)
	if len(args) == 0 {
		return
	}
	switch args[0] {
	case "help":
		m.emitf("commands: help echo uname hostname uptime date dmesg reboot\r\n")
		m.emitf("BREAK then a key within 5 s is Magic SysRq: h help, t tasks, m memory, c crash, b reboot\r\n")
	case "echo":
		m.emitf("%s\r\n", strings.Join(args[1:], " "))
	case "uname":
		if len(args) > 1 && args[1] == "-a" {
			m.emitf("Linux %s 6.1.0-demo #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux\r\n", m.host)
		} else {
			m.emitf("Linux\r\n")
		}
	case "hostname":
		m.emitf("%s\r\n", m.host)
	case "uptime":
		m.emitf("up %s\r\n", time.Since(m.started).Round(time.Second))
	case "date":
		m.emitf("%s\r\n", time.Now().UTC().Format(time.UnixDate))
	case "dmesg":
		for i, l := range bootLines {
			m.emitf("%s %s\r\n", stamp(i), l)
		}
	case "reboot":
		m.emitf("reboot: Restarting system\r\n")
		m.boot()
	default:
		m.emitf("sh: %s: not found\r\n", args[0])
	}
}

// stamp is a kernel-style timestamp for boot line i.
func stamp(i int) string {
	us := i * 213577
	return fmt.Sprintf("[%5d.%06d]", us/1000000, us%1000000)
}
