package sshd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"consoled/breakseq"
	"consoled/frontend"
	"consoled/internal/cmdargs"
	"consoled/mux"
)

// consoleRef is a console as one user sees it.
type consoleRef struct {
	*mux.Console
	access frontend.Access
}

// takeWriter finds console name, attaches a script session and gets it
// write access: free, or taken with force. It returns the client, or an
// exit status.
func (s *Server) takeWriter(ss *session, name, action string, force bool) (*mux.Client, int) {
	con, ok := s.lookup(ss, name)
	if !ok {
		fmt.Fprintf(ss.Stderr(), "consoled: no console %q\n", name)
		return nil, 2
	}
	if con.access != frontend.ReadWrite {
		return nil, s.refuse(ss, con.Name(), action, "", "read-only access")
	}
	cl := con.Attach(ss.user, ss.RemoteAddr().String(), true)
	if cl.Writer() {
		return cl, 0
	}
	if !force {
		who := cl.WriterName()
		cl.Close()
		return nil, s.refuse(ss, con.Name(), action, "", who+" has write access (--force takes it)")
	}
	prev, _ := cl.TakeWrite(true)
	s.audit(ss, con.Name(), "takeover", "from "+prev, "ok")
	return cl, 0
}

// sendSeq sends break sequence n (0 = a plain BREAK).
func (s *Server) sendSeq(ctx context.Context, cl *mux.Client, n int) error {
	if n == 0 {
		return cl.Break()
	}
	bs, ok := s.pol().Breaks[n]
	if !ok {
		return fmt.Errorf("no break sequence %d", n)
	}
	return breakseq.Send(ctx, cl, bs)
}

// breakCmd: break NAME [KEYS] [--seq N] [--wait D] [--expect RE] [--force].
// Exit 0 when RE matched (or, without --expect, after the wait), 1 on
// timeout, 2 on refusal or error.
func (s *Server) breakCmd(ss *session) int {
	a, err := cmdargs.Parse(ss.args[1:], []string{"wait", "expect...", "seq"}, []string{"force"})
	if err != nil || len(a.Pos) < 1 || len(a.Pos) > 2 {
		fmt.Fprintf(ss.Stderr(), "usage: break NAME [KEYS] [--seq N] [--wait 10s] [--expect REGEX] [--force]\n")
		return 2
	}
	wait := 10 * time.Second
	if _, given := a.Flags["wait"]; !given && a.Flags["expect"] == "" {
		wait = 2 * time.Second
	}
	if w, ok := a.Flags["wait"]; ok {
		if wait, err = time.ParseDuration(w); err != nil || wait <= 0 {
			fmt.Fprintf(ss.Stderr(), "consoled: --wait %q: want a duration such as 10s\n", w)
			return 2
		}
	}
	var re *regexp.Regexp
	if e, ok := a.Flags["expect"]; ok {
		if re, err = regexp.Compile(e); err != nil {
			fmt.Fprintf(ss.Stderr(), "consoled: --expect: %v\n", err)
			return 2
		}
	}
	seq := 0
	if v, ok := a.Flags["seq"]; ok {
		if seq, err = strconv.Atoi(v); err != nil || seq < 1 || seq > 9 {
			fmt.Fprintf(ss.Stderr(), "consoled: --seq %q: want 1 to 9\n", v)
			return 2
		}
	}
	name := a.Pos[0]
	cl, code := s.takeWriter(ss, name, "break", a.Flags["force"] != "")
	if cl == nil {
		return code
	}
	defer cl.Close()

	// Everything the console prints from now on goes to stdout and is
	// searched for the expected text.
	var mu sync.Mutex
	var seen bytes.Buffer
	matched := make(chan struct{})
	var once sync.Once
	ctx, cancel := context.WithCancel(ss.ctx)
	defer cancel()
	go func() {
		for {
			items, err := cl.Next(ctx)
			if err != nil {
				return
			}
			for _, it := range items {
				if it.Data == nil {
					continue
				}
				ss.Write(it.Data)
				mu.Lock()
				seen.Write(it.Data)
				if re != nil && re.Match(seen.Bytes()) {
					once.Do(func() { close(matched) })
				}
				mu.Unlock()
			}
		}
	}()

	detail := "BREAK"
	if seq > 0 {
		detail = fmt.Sprintf("break sequence %d", seq)
	}
	if err := s.sendSeq(ss.ctx, cl, seq); err != nil {
		s.audit(ss, name, "break", detail, "failed: "+err.Error())
		fmt.Fprintf(ss.Stderr(), "consoled: %s on %s: %v\n", detail, name, err)
		return 2
	}
	s.audit(ss, name, "break", detail, "ok")
	if len(a.Pos) == 2 {
		time.Sleep(200 * time.Millisecond) // well inside the 5 s SysRq window
		if _, err := cl.Write([]byte(a.Pos[1])); err != nil {
			fmt.Fprintf(ss.Stderr(), "consoled: sending %q: %v\n", a.Pos[1], err)
			return 2
		}
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-matched:
		return 0
	case <-timer.C:
		if re == nil {
			return 0
		}
		fmt.Fprintf(ss.Stderr(), "consoled: %q not seen within %v\n", re.String(), wait)
		return 1
	case <-ss.ctx.Done():
		return 2
	}
}

// send: send [--force] [-n] NAME TEXT... types TEXT, then Enter unless -n.
// Options come before TEXT: TEXT is taken as it is, dashes and all.
func (s *Server) send(ss *session) int {
	a, err := cmdargs.ParseUntil(ss.args[1:], nil, []string{"force", "n"}, 2)
	if err != nil || len(a.Pos) < 2 {
		fmt.Fprintf(ss.Stderr(), "usage: send [--force] [-n] NAME TEXT...\n")
		return 2
	}
	name := a.Pos[0]
	cl, code := s.takeWriter(ss, name, "send", a.Flags["force"] != "")
	if cl == nil {
		return code
	}
	defer cl.Close()
	text := strings.Join(a.Pos[1:], " ")
	if a.Flags["n"] == "" {
		text += "\r"
	}
	if _, err := cl.Write([]byte(text)); err != nil {
		s.audit(ss, name, "send", "", "failed: "+err.Error())
		fmt.Fprintf(ss.Stderr(), "consoled: sending to %s: %v\n", name, err)
		if errors.Is(err, mux.ErrNotUp) {
			return 1
		}
		return 2
	}
	s.audit(ss, name, "send", fmt.Sprintf("%d bytes", len(text)), "ok")
	return 0
}

// who: who NAME lists the people attached.
func (s *Server) who(ss *session) int {
	if len(ss.args) != 2 {
		fmt.Fprintf(ss.Stderr(), "usage: who NAME\n")
		return 2
	}
	con, ok := s.lookup(ss, ss.args[1])
	if !ok {
		fmt.Fprintf(ss.Stderr(), "consoled: no console %q\n", ss.args[1])
		return 2
	}
	for _, ci := range con.Clients() {
		mode := "ro"
		if ci.Writer {
			mode = "rw"
		}
		fmt.Fprintf(ss, "%-12s %s since %s from %s\n", ci.Who, mode, ci.Since.UTC().Format(time.RFC3339), ci.From)
	}
	return 0
}
