package frontend

import (
	"bufio"
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"consoled/internal/logcmd"
	"consoled/logstore"
	"consoled/panics"
)

// Crashes are the crashes seen since since (zero: all) on the consoles id
// may see, newest first: the panics command's list, as data.
func (c *Core) Crashes(id Identity, since time.Time) ([]panics.Event, error) {
	if err := c.Stands(id); err != nil {
		return nil, err
	}
	if c.opts.Panics == nil {
		return nil, nil
	}
	evs, err := c.opts.Panics.List(since, nil)
	if err != nil {
		return nil, err
	}
	out := evs[:0]
	for _, ev := range evs {
		if c.Access(id, ev.Console) != NoAccess {
			out = append(out, ev)
		}
	}
	return out, nil
}

// Activity is a console's history over a time range at a glance.
type Activity struct {
	From, To time.Time
	Bytes    []int64  // recorded in each of equal spans of [From, To)
	Periods  []Period // the connection's ups and downs in the range, in order
	Crashes  []panics.Event
}

// Period starts when the console came up or went down.
type Period struct {
	From time.Time
	Up   bool
	Why  string // the mark's event, e.g. "console down: EOF"
}

// stateMarks are the log marks where a console comes up or goes down.
var stateMarks = regexp.MustCompile(`^\[-- consoled: (console up|console down: |connect failed: )`)

// Activity reads console name's output volume over [from, to) in n spans
// from the log's time index, its ups and downs from the log's marks, and
// its crashes, for id.
func (c *Core) Activity(ctx context.Context, id Identity, name string, from, to time.Time, n int) (Activity, error) {
	if _, _, err := c.lookup(id, name); err != nil {
		return Activity{}, err
	}
	a := Activity{From: from, To: to}
	var err error
	if a.Bytes, err = logstore.Volume(c.opts.LogDir, name, from, to, n); err != nil {
		return a, err
	}
	var buf bytes.Buffer
	q := logstore.Query{Since: from, Until: to, Raw: true, Grep: stateMarks}
	if err := q.Run(ctx, c.opts.LogDir, name, &buf); err != nil {
		return a, err
	}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		if m, ok := logstore.ParseMark(sc.Bytes()); ok && !m.Time.Before(from) && m.Time.Before(to) {
			a.Periods = append(a.Periods, Period{From: m.Time, Up: m.Event == "console up", Why: m.Event})
		}
	}
	crashes, err := c.Crashes(id, from)
	if err != nil {
		return a, err
	}
	for _, ev := range crashes {
		if ev.Console == name && ev.Time.Before(to) {
			a.Crashes = append(a.Crashes, ev)
		}
	}
	return a, nil
}

// CrashLog is the log around a crash of a console id may see: the lines
// of the panics command's window that match the headline, with context
// lines around each, as `logs` prints them.
func (c *Core) CrashLog(ctx context.Context, id Identity, ev panics.Event, lines int) (string, error) {
	from, to := logcmd.Window(ev.Time)
	var buf bytes.Buffer
	args := []string{ev.Console, "--since", from.Format(time.RFC3339), "--until", to.Format(time.RFC3339),
		"--grep", regexp.QuoteMeta(strings.TrimSpace(ev.Headline)), "--context", strconv.Itoa(lines)}
	err := c.Logs(ctx, id, args, &buf)
	return buf.String(), err
}
