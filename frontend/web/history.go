package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"consoled/frontend"
	"consoled/internal/logcmd"
)

// maxOutput bounds what one history or crash page shows.
const maxOutput = 1 << 20

// logQuery is the history page's form: the logs command's options.
type logQuery struct {
	Since, Until, Grep, Context, Tail string
	Timestamps                        bool
	Command                           string // the same query as an ssh command
}

// args is the query as a logs command line for console name.
func (q logQuery) args(name string) []string {
	args := []string{name}
	for _, o := range []struct{ flag, v string }{{"since", q.Since}, {"until", q.Until}, {"grep", q.Grep},
		{"context", q.Context}, {"tail", q.Tail}} {
		if o.v != "" {
			args = append(args, "--"+o.flag, o.v)
		}
	}
	if q.Timestamps {
		args = append(args, "--timestamps")
	}
	return args
}

// capped keeps the first maxOutput bytes written to it, then fails.
type capped struct {
	buf bytes.Buffer
	cut bool
}

var errCapped = errors.New("output cut")

func (c *capped) Write(p []byte) (int, error) {
	if room := maxOutput - c.buf.Len(); len(p) > room {
		c.buf.Write(p[:room])
		c.cut = true
		return room, errCapped
	}
	return c.buf.Write(p)
}

// logPage is /console/NAME/log: the day's timeline, and the log by time
// range with grep and context, run by the same code as `ssh ... logs`.
func (s *Server) logPage(w http.ResponseWriter, r *http.Request) {
	b, _ := browserFor(r)
	id := b.identity(r)
	name := r.PathValue("name")
	if !nameOK(name) || s.core.Access(id, name) == frontend.NoAccess {
		s.noConsole(w, r, name)
		return
	}
	v := r.URL.Query()
	q := logQuery{Since: v.Get("since"), Until: v.Get("until"), Grep: v.Get("grep"), Context: v.Get("context"),
		Tail: v.Get("tail"), Timestamps: v.Get("timestamps") != ""}
	if q.Since == "" && q.Until == "" && q.Tail == "" {
		q.Since = "1h"
	}
	q.Command = "ssh console@" + hostOnly(r.Host) + " logs " + quoteArgs(q.args(name))
	p := basePage(r, name+" history")
	p.Console, p.Q = name, q
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	var out capped
	err := s.core.Logs(ctx, id, q.args(name), &out)
	switch {
	case out.cut:
		p.Truncated = fmt.Sprintf("%d bytes", maxOutput)
	case err != nil:
		p.Error = err.Error()
	}
	p.Output = out.buf.String()
	now := time.Now().UTC()
	act, err := s.core.Activity(ctx, id, name, now.Add(-24*time.Hour), now, timelineSpans)
	if err != nil {
		p.TimelineCaption = "no timeline: " + err.Error()
	} else {
		p.Timeline, p.TimelineCaption = timeline(act, s.core.List(id), name, fullSize)
	}
	s.render(w, http.StatusOK, "log", p)
}

// quoteArgs shows args as a shell needs them: single quotes around any
// with a character outside a safe set.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:+-=,@%") == "" {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// crashView is one crash on the crash list.
type crashView struct {
	Console, Time, Headline string
	From, To                string // the panics command's window
	Log                     string // the lines around it
}

// maxCrashes bounds the crash list page.
const maxCrashes = 50

// panicsPage is /panics: the crashes, newest first, each with the log
// lines around its headline.
func (s *Server) panicsPage(w http.ResponseWriter, r *http.Request) {
	b, _ := browserFor(r)
	id := b.identity(r)
	p := basePage(r, "Crashes")
	p.Since = r.URL.Query().Get("since")
	if p.Since == "" {
		p.Since = "7d"
	}
	since, err := logcmd.ParseTime(p.Since, time.Now())
	if err != nil {
		p.Error = err.Error()
		s.render(w, http.StatusBadRequest, "panics", p)
		return
	}
	evs, err := s.core.Crashes(id, since)
	if err != nil {
		p.Error = err.Error()
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	for i, ev := range evs {
		if i == maxCrashes {
			p.Error = fmt.Sprintf("only the newest %d crashes are shown", maxCrashes)
			break
		}
		from, to := logcmd.Window(ev.Time)
		cv := crashView{Console: ev.Console, Time: stamp(ev.Time), Headline: ev.Headline + ev.HookNote(),
			From: stamp(from), To: stamp(to)}
		text, err := s.core.CrashLog(ctx, id, ev, 12)
		if err != nil {
			text += "(" + err.Error() + ")"
		}
		if len(text) > 64<<10 {
			text = text[:64<<10] + "\n(cut)"
		}
		cv.Log = text
		p.Crashes = append(p.Crashes, cv)
	}
	s.render(w, http.StatusOK, "panics", p)
}
