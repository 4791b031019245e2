package sshd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"consoled/frontend"
	"consoled/internal/logcmd"
)

// A movable console's log is split across the gateways that held it: each
// keeps on its own disk what it recorded. `logs NAME` in a cluster asks
// every live gateway for its part with --timestamps (as the user: each
// applies its own policy) and merges the parts by time; `panics` merges
// every gateway's crash list. --follow and --raw go to the holder alone.

// part is one gateway's answer.
type part struct {
	gw  string
	out []byte
	err error
}

// gather runs the session's command line, plus extra, here and on every
// other live gateway, at once.
func (s *Server) gather(ss *session, extra string, local func(w io.Writer) error) []part {
	ctx, cancel := context.WithTimeout(ss.ctx, listTimeout)
	defer cancel()
	peers := s.opts.Cluster.Peers()
	parts := make([]part, 0, len(peers)+1)
	var buf bytes.Buffer
	err := local(&buf)
	parts = append(parts, part{gw: s.opts.Cluster.Self(), out: buf.Bytes(), err: err})
	var mu sync.Mutex
	var wg sync.WaitGroup
	for gw, addr := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := s.runOn(ctx, ss.id, gw, addr, ss.RawCommand()+extra)
			mu.Lock()
			parts = append(parts, part{gw: gw, out: out, err: err})
			mu.Unlock()
		}()
	}
	wg.Wait()
	return parts
}

// mergedLogs runs `logs NAME ...` across the cluster; done is false when
// the command is not one to merge (--follow, --raw, a console set, bad
// options: the usual path answers those).
func (s *Server) mergedLogs(ss *session) (code int, done bool) {
	name, q, err := logcmd.ParseLogs(ss.args[1:], time.Now())
	if err != nil || q.Follow || q.Raw || frontend.IsSet(name) {
		return 0, false
	}
	if s.core.Access(ss.id, name) == frontend.NoAccess {
		return 0, false // the core refuses and audits as usual
	}
	args := ss.args[1:]
	extra := ""
	if !q.Timestamps {
		args = append(append([]string{}, args...), "--timestamps")
		extra = " --timestamps"
	}
	parts := s.gather(ss, extra, func(w io.Writer) error { return s.core.Logs(ss.ctx, ss.id, args, w) })
	var lines []stampedLine
	var errs []string
	for i, p := range parts {
		if p.err != nil {
			if !strings.Contains(p.err.Error(), "no log for console") && !strings.Contains(string(p.out), "no log for console") {
				errs = append(errs, p.gw+": "+frontend.OneLine(p.err.Error()))
			}
			continue
		}
		lines = append(lines, splitStamped(p.out, i)...)
	}
	if len(lines) == 0 && len(errs) == 0 {
		fmt.Fprintf(ss.Stderr(), "consoled: no log for console %q on any gateway\n", name)
		return 1, true
	}
	sortStamped(lines)
	if q.Tail > 0 && len(lines) > q.Tail {
		lines = lines[len(lines)-q.Tail:]
	}
	w := bufio.NewWriter(ss.out())
	for _, l := range lines {
		if q.Timestamps {
			w.WriteString(l.text)
		} else {
			w.WriteString(l.body)
		}
		w.WriteByte('\n')
	}
	w.Flush()
	for _, e := range errs {
		fmt.Fprintf(ss.Stderr(), "consoled: logs from gateway %s\n", e)
	}
	return 0, true
}

// stampedLine is a line of `logs --timestamps` output with its sort key:
// the time its last byte arrived, then which gateway, then its place
// there (a gateway's own order is kept).
type stampedLine struct {
	key  string
	text string // as printed, with the stamp
	body string // without it
}

// sortStamped puts lines from every gateway in time order.
func sortStamped(lines []stampedLine) {
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].key < lines[j].key })
}

// splitStamped reads one gateway's --timestamps output. A line without a
// stamp (a --context separator) sorts with the line before it.
func splitStamped(out []byte, src int) []stampedLine {
	var res []stampedLine
	last := ""
	for i, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		stamp, body, ok := strings.Cut(line, " ")
		t, good := stampEnd(stamp)
		if !ok || !good {
			body = line
		} else {
			last = t
		}
		res = append(res, stampedLine{key: fmt.Sprintf("%s %04d %09d", last, src, i), text: line, body: body})
	}
	return res
}

// stampEnd is the end of a stamp as RFC 3339: "2026-11-23T01:37:45Z" or
// the end of "2026-11-23T01:37:45Z..01:38:31Z".
func stampEnd(stamp string) (string, bool) {
	first, after, isRange := strings.Cut(stamp, "..")
	if _, err := time.Parse(time.RFC3339, first); err != nil {
		return "", false
	}
	if !isRange {
		return first, true
	}
	if len(after) == len("15:04:05Z") {
		return first[:len("2006-01-02T")] + after, true
	}
	return after, true
}

// mergedPanics runs `panics ...` on every gateway and lists the crashes
// of the whole cluster, newest first.
func (s *Server) mergedPanics(ss *session) int {
	parts := s.gather(ss, "", func(w io.Writer) error { return s.core.Panics(ss.id, ss.args[1:], w) })
	if parts[0].err != nil {
		fmt.Fprintf(ss.Stderr(), "consoled: %v\n%s\n", parts[0].err, logcmd.PanicsUsage)
		return 2
	}
	type event struct{ when, text string }
	seen := map[string]bool{}
	var evs []event
	for _, p := range parts {
		if p.err != nil {
			fmt.Fprintf(ss.Stderr(), "consoled: panics from gateway %s: %s\n", p.gw, frontend.OneLine(p.err.Error()))
			continue
		}
		lines := strings.Split(strings.TrimSuffix(string(p.out), "\n"), "\n")
		for i := 0; i+1 < len(lines); i += 2 { // "console time headline" then "    logs ..."
			text := lines[i] + "\n" + lines[i+1] + "\n"
			f := strings.Fields(lines[i])
			if len(f) < 2 || seen[text] {
				continue
			}
			seen[text] = true
			evs = append(evs, event{when: f[1], text: text})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].when > evs[j].when })
	w := ss.out()
	for _, ev := range evs {
		io.WriteString(w, ev.text)
	}
	return 0
}
