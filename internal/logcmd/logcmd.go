// Package logcmd is the `logs` and `panics` commands, shared by the SSH
// frontend and the offline `consoled logs -data DIR` so both behave alike.
package logcmd

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"consoled/internal/cmdargs"
	"consoled/logstore"
	"consoled/panics"
)

// LogsUsage and PanicsUsage are shown on a bad command line.
const (
	LogsUsage   = "usage: logs NAME [--since 2h|1d|2026-11-23T03:00] [--until ...] [--tail N] [--grep REGEX] [--context N] [--follow] [--timestamps] [--raw]"
	PanicsUsage = "usage: panics [--since 24h|7d|2026-11-23T03:00] [NAME...]"
)

// ParseTime reads a duration ago ("2h", "30m", "1d", "1d12h": a day is
// 24 hours), RFC 3339, or a UTC date and time such as "2026-11-23T03:00"
// or "2026-11-23".
func ParseTime(s string, now time.Time) (time.Time, error) {
	if d, ok := parseAgo(s); ok {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want a duration ago (2h, 30m, 1d) or a UTC time (2026-11-23T03:00)", s)
}

// parseAgo reads a non-negative Go duration with an optional leading
// number of days ("1d", "2d6h").
func parseAgo(s string) (time.Duration, bool) {
	var days time.Duration
	if n, rest, ok := strings.Cut(s, "d"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 || v > 100000 {
			return 0, false
		}
		days, s = time.Duration(v)*24*time.Hour, rest
		if s == "" {
			return days, true
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || strings.HasPrefix(s, "+") {
		return 0, false
	}
	return days + d, true
}

// ParseLogs reads a logs command line (without the word "logs").
func ParseLogs(args []string, now time.Time) (string, *logstore.Query, error) {
	a, err := cmdargs.Parse(args, []string{"since", "until", "tail", "grep...", "context"}, []string{"follow", "timestamps", "raw"})
	if err != nil {
		return "", nil, err
	}
	if len(a.Pos) != 1 {
		return "", nil, fmt.Errorf("name one console")
	}
	q := &logstore.Query{Follow: a.Flags["follow"] != "", Timestamps: a.Flags["timestamps"] != "", Raw: a.Flags["raw"] != ""}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if v, ok := a.Flags[f.name]; ok {
			if *f.dst, err = ParseTime(v, now); err != nil {
				return "", nil, fmt.Errorf("--%s: %w", f.name, err)
			}
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Unix() < q.Since.Unix() { // swapped: it would select nothing, silently
		return "", nil, fmt.Errorf("--until %s is before --since %s", q.Until.UTC().Format(time.RFC3339), q.Since.UTC().Format(time.RFC3339))
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"tail", &q.Tail}, {"context", &q.Context}} {
		if v, ok := a.Flags[f.name]; ok {
			if *f.dst, err = strconv.Atoi(v); err != nil || *f.dst < 0 {
				return "", nil, fmt.Errorf("--%s %q: want a number of lines", f.name, v)
			}
		}
	}
	if v, ok := a.Flags["grep"]; ok {
		if q.Grep, err = regexp.Compile(v); err != nil {
			return "", nil, fmt.Errorf("--grep: %w", err)
		}
	}
	return a.Pos[0], q, nil
}

// Panics prints crash events: console, time, headline, and the logs
// command that shows the context. allowed filters consoles (nil: all); a
// console named that it refuses is an error, as is one that does not exist.
func Panics(args []string, store *panics.Store, now time.Time, allowed func(string) bool, w io.Writer) error {
	a, err := cmdargs.Parse(args, []string{"since"}, nil)
	if err != nil {
		return err
	}
	for _, name := range a.Pos {
		if allowed != nil && !allowed(name) {
			return fmt.Errorf("no console %q", name)
		}
	}
	since := time.Time{}
	if v, ok := a.Flags["since"]; ok {
		if since, err = ParseTime(v, now); err != nil {
			return fmt.Errorf("--since: %w", err)
		}
	}
	evs, err := store.List(since, a.Pos)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if allowed != nil && !allowed(ev.Console) {
			continue
		}
		from, to := Window(ev.Time)
		fmt.Fprintf(w, "%s %s %s\n    logs %s --since %s --until %s\n", ev.Console, ev.Time.Format(time.RFC3339), ev.Headline+ev.HookNote(), ev.Console, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return nil
}

// Window is the time range the panics command suggests for a crash
// detected at t (when its headline line ended): a minute before, for what
// led to it, and five after, for the trace that follows. Since a range
// selects every line with a byte in it, the headline is in it however
// long its line had been waiting (a login prompt that sat for hours).
func Window(t time.Time) (from, to time.Time) {
	return t.Add(-time.Minute).Truncate(time.Second), t.Add(5 * time.Minute).Truncate(time.Second).Add(time.Second)
}

// Logs runs a logs command line against dir. Closing finish (nil: never)
// ends a --follow at the end of the log: its console stopped for good.
func Logs(ctx context.Context, args []string, dir string, allowed func(string) bool, finish <-chan struct{}, w io.Writer) error {
	name, q, err := ParseLogs(args, time.Now())
	if err != nil {
		return err
	}
	if allowed != nil && !allowed(name) {
		return fmt.Errorf("no console %q", name)
	}
	if strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("no console %q", name)
	}
	q.Finish = finish
	return q.Run(ctx, dir, name, w)
}
