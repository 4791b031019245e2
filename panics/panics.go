// Package panics spots crashes in console output as it streams past —
// Linux panics, oopses, BUGs and lockups, FreeBSD and Go panics, Windows stop
// errors, plus patterns from the config — and keeps a list of them for the
// morning after. It never re-reads log files: the Detector sees each byte
// once.
//
// A call trace alone is not a crash: magic SysRq t, w and l print one per
// task or CPU when someone asks for them. A trace counts only as part of a
// crash it follows.
package panics

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Builtin are the crash headlines every console is watched for: each one
// starts a crash (a panic, an oops, a BUG, a lockup, a stop error).
var Builtin = []string{
	"Kernel panic - not syncing",
	"Oops:",
	"BUG:", // also "watchdog: BUG: soft lockup", "BUG: workqueue lockup"
	"kernel BUG at",
	"general protection fault",
	"hard LOCKUP",
	"blocked for more than",      // the hung task detector: "INFO: task X blocked for more than 120 seconds."
	"self-detected stall on CPU", // RCU
	"detected stalls on CPUs",    // RCU
	"*** STOP",                   // Windows
}

// linePanic is a panic headline that counts only at the start of a line
// (after a kernel timestamp): FreeBSD's and Go's "panic: ...", not a shell
// command line or a log message that mentions it.
var linePanic = []byte("panic:")

// Trace are the marks of a trace or a register dump: they belong to a crash
// they follow (keeping it one event however long it prints) and never start
// one.
var Trace = []string{
	"Call Trace:",
	"---[ end trace",
	"---[ end Kernel panic",
}

// Event is one detected crash.
type Event struct {
	Console  string    `json:"console"`
	Time     time.Time `json:"time"`
	Headline string    `json:"headline"`
	// Hook is what became of on_panic for this crash: HookRun,
	// HookSuppressed (see HookLimiter), or empty when none is configured.
	Hook string `json:"hook,omitempty"`
}

// quiet is how long after a hit further hits on the same console belong to
// the same crash (a panic prints a headline, a register dump, a call trace).
const quiet = 30 * time.Second

// Detector watches one console's output. Observe is called for one
// console at a time, never concurrently: from whichever goroutine read the
// output (one resumed to read the console, or its idle clock's). The
// built-in patterns are shared by every Detector, not held by each.
type Detector struct {
	console string
	regexps []*regexp.Regexp
	onEvent func(Event)
	now     func() time.Time

	line    []byte    // the current, unfinished line
	lastHit time.Time // the last line of the current crash; zero: none
}

// NewDetector watches console for the built-in headlines and extra regular
// expressions (each a crash headline); onEvent is called once per crash.
func NewDetector(console string, extra []*regexp.Regexp, onEvent func(Event)) *Detector {
	return &Detector{console: console, regexps: extra, onEvent: onEvent, now: time.Now}
}

// patterns are Builtin and Trace as bytes, made once and shared, read-only,
// by every Detector (ten thousand consoles need not hold a copy each).
var patterns = sync.OnceValue(func() (p struct{ crashes, traces [][]byte }) {
	for _, s := range Builtin {
		p.crashes = append(p.crashes, []byte(s))
	}
	for _, s := range Trace {
		p.traces = append(p.traces, []byte(s))
	}
	return p
})

const maxLine = 1024

// Observe feeds console output.
func (d *Detector) Observe(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			d.line = append(d.line, p...)
			if len(d.line) > maxLine { // an endless line: check what we have
				d.check(d.line)
				d.line = d.line[:0]
			}
			return
		}
		if len(d.line) > 0 {
			d.line = append(d.line, p[:i]...)
			d.check(d.line)
			d.line = d.line[:0]
		} else {
			d.check(p[:i])
		}
		p = p[i+1:]
	}
}

func (d *Detector) check(line []byte) {
	crash, text := d.isCrash(line)
	if !crash && !d.isTrace(line) {
		return
	}
	now := d.now()
	within := !d.lastHit.IsZero() && now.Sub(d.lastHit) <= quiet
	if !crash && !within {
		return // a trace on its own: a diagnostic someone asked for
	}
	d.lastHit = now
	if !within && d.onEvent != nil {
		d.onEvent(Event{Console: d.console, Time: now.UTC(), Headline: headline(text)})
	}
}

// isCrash reports whether line starts a crash, and the text its headline
// is made of: the line, or the part of it that starts with "panic:".
func (d *Detector) isCrash(line []byte) (bool, []byte) {
	for _, lit := range patterns().crashes {
		if bytes.Contains(line, lit) {
			return true, line
		}
	}
	if p := panicPiece(line); p != nil {
		return true, p
	}
	for _, re := range d.regexps {
		if re.Match(line) {
			return true, line
		}
	}
	return false, nil
}

// panicPiece returns the part of line that starts with "panic:" where a
// terminal shows the start of a line, or nil. The line is read in pieces
// split at carriage returns, and each piece's leading escape sequences,
// kernel timestamp and blanks are skipped: bash (5.1 and later) prints
// ESC[?2004l CR before a command's output, so a program that panics at once
// prints "ESC[?2004l CR panic: ..." on the console.
func panicPiece(line []byte) []byte {
	for piece := range bytes.SplitSeq(line, []byte("\r")) {
		p := bytes.TrimLeft(stripStamp(skipEscapes(bytes.TrimLeft(piece, "\x00"))), " \t")
		if bytes.HasPrefix(p, linePanic) {
			return p
		}
	}
	return nil
}

// skipEscapes drops the escape sequences (CSI, OSC and two-byte ones) at
// the start of b.
func skipEscapes(b []byte) []byte {
	for len(b) >= 2 && b[0] == 0x1b {
		switch b[1] {
		case '[': // parameters and intermediates, then a final byte
			i := 2
			for i < len(b) && (b[i] < 0x40 || b[i] > 0x7e) {
				i++
			}
			if i == len(b) {
				return b[len(b):]
			}
			b = b[i+1:]
		case ']': // up to BEL or ST
			end := bytes.IndexByte(b, '\a')
			if st := bytes.Index(b, []byte("\x1b\\")); st >= 0 && (end < 0 || st < end) {
				end = st + 1
			}
			if end < 0 {
				return b[len(b):]
			}
			b = b[end+1:]
		default:
			b = b[2:]
		}
	}
	return b
}

func (d *Detector) isTrace(line []byte) bool {
	for _, lit := range patterns().traces {
		if bytes.Contains(line, lit) {
			return true
		}
	}
	return false
}

// stripStamp removes leading control characters and a kernel timestamp
// ("[   12.345678] ") from a line.
func stripStamp(line []byte) []byte {
	line = bytes.TrimLeft(line, "\r\x00")
	if len(line) > 0 && line[0] == '[' {
		if i := bytes.Index(line, []byte("] ")); i > 0 && i < 20 {
			return line[i+2:]
		}
	}
	return line
}

// headline is the crash line without kernel timestamp noise and control
// characters (C1 too: it is shown in marks, notices and the panic list),
// e.g. "Kernel panic - not syncing: sysrq triggered crash".
func headline(line []byte) string {
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f && r <= 0x9f {
			return -1
		}
		return r
	}, string(line))
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") { // "[   12.345678] "
		if i := strings.Index(s, "] "); i > 0 && i < 20 {
			s = strings.TrimSpace(s[i+2:])
		}
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
