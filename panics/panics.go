// Package panics spots crashes in console output as it streams past —
// Linux oopses and panics, FreeBSD panics, Windows stop errors, plus
// patterns from the config — and keeps a list of them for the morning
// after. It never re-reads log files: the Detector sees each byte once.
package panics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Builtin are the patterns every console is watched for.
var Builtin = []string{
	"Kernel panic - not syncing",
	"Oops:",
	"BUG:",
	"general protection fault",
	"watchdog: BUG: soft lockup",
	"Call Trace:",
	"---[ end trace",
	"panic:",
	"*** STOP",
}

// Event is one detected crash.
type Event struct {
	Console  string    `json:"console"`
	Time     time.Time `json:"time"`
	Headline string    `json:"headline"`
}

// quiet is how long after a hit further hits on the same console belong to
// the same crash (a panic prints a headline, a register dump, a call trace).
const quiet = 30 * time.Second

// Detector watches one console's output. Observe is called from the
// console's reader goroutine only.
type Detector struct {
	console  string
	literals [][]byte
	regexps  []*regexp.Regexp
	onEvent  func(Event)
	now      func() time.Time

	line    []byte // the current, unfinished line
	lastHit time.Time
}

// NewDetector watches console for the built-in patterns and extra regular
// expressions; onEvent is called once per crash.
func NewDetector(console string, extra []*regexp.Regexp, onEvent func(Event)) *Detector {
	d := &Detector{console: console, regexps: extra, onEvent: onEvent, now: time.Now}
	for _, p := range Builtin {
		d.literals = append(d.literals, []byte(p))
	}
	return d
}

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
	if !d.matches(line) {
		return
	}
	now := d.now()
	fresh := now.Sub(d.lastHit) > quiet
	d.lastHit = now
	if fresh && d.onEvent != nil {
		d.onEvent(Event{Console: d.console, Time: now.UTC(), Headline: headline(line)})
	}
}

func (d *Detector) matches(line []byte) bool {
	for _, lit := range d.literals {
		if bytes.Contains(line, lit) {
			return true
		}
	}
	for _, re := range d.regexps {
		if re.Match(line) {
			return true
		}
	}
	return false
}

// headline is the crash line without kernel timestamp noise and control
// characters, e.g. "Kernel panic - not syncing: sysrq triggered crash".
func headline(line []byte) string {
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
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

// Store keeps events as JSON lines in a file.
type Store struct {
	path string
	mu   sync.Mutex
}

// NewStore uses path (created on the first event).
func NewStore(path string) *Store { return &Store{path: path} }

// Add records an event.
func (s *Store) Add(ev Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("recording panic: %w", err)
	}
	defer f.Close()
	_, err = f.Write(append(b, '\n'))
	return err
}

// List returns events since t (zero: all) of the given consoles (none:
// all), newest first.
func (s *Store) List(since time.Time, consoles []string) ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.Open(s.path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	want := map[string]bool{}
	for _, c := range consoles {
		want[c] = true
	}
	var out []Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev Event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		if ev.Time.Before(since) || len(want) > 0 && !want[ev.Console] {
			continue
		}
		out = append(out, ev)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out, sc.Err()
}
