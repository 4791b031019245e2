package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"consoled/frontend"
	"consoled/frontend/escape"
	"consoled/mux"
	"consoled/termsafe"
)

// writeTimeout bounds one write to a browser: one that does not read is
// cut off (the console never waits for it: the mux's queue bounds it too).
const writeTimeout = 10 * time.Second

// maxMessage bounds what a browser sends in one message.
const maxMessage = 64 << 10

// terminal is the WebSocket of /console/NAME: console output to the
// browser as binary messages, its keystrokes back the same way, and
// actions and state as JSON text messages (see term.js).
func (s *Server) terminal(w http.ResponseWriter, r *http.Request) {
	b, _ := browserFor(r)
	id := b.identity(r)
	name := r.PathValue("name")
	why := ""
	switch {
	case !strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		http.Error(w, "this is the terminal's WebSocket: open /console/"+name, http.StatusBadRequest)
		return
	case r.Header.Get("Origin") == "" || !sameOrigin(r):
		why = "WebSocket from another origin (" + r.Header.Get("Origin") + ")"
	case !b.csrfOK(r.URL.Query().Get("csrf")):
		why = "missing or wrong CSRF token"
	}
	if why != "" {
		s.core.Record(id, name, "attach", "web terminal", "refused: "+why)
		http.Error(w, "refused: "+why, http.StatusForbidden)
		return
	}
	leave, ok := s.gate.Enter()
	if !ok {
		http.Error(w, ErrShutdown.Error(), http.StatusServiceUnavailable)
		return
	}
	defer leave()

	mode := frontend.Write
	if r.URL.Query().Get("spy") != "" {
		mode = frontend.Watch
	}
	cs, err := s.core.Attach(id, name, mode)
	if err != nil {
		code := http.StatusForbidden
		if errors.Is(err, frontend.ErrNoConsole) {
			code = http.StatusNotFound
		}
		http.Error(w, err.Error(), code)
		return
	}
	defer cs.Close()
	c, err := websocket.Accept(w, r, nil) // checks the Origin again
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(maxMessage)
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	defer s.gate.Bind(cancel)()
	if !b.until.IsZero() { // the key's expiry-time (a certificate's valid-before) ends the terminal, as over SSH
		expiry := time.AfterFunc(time.Until(b.until), func() {
			why := fmt.Errorf("the key this web session was opened with expired at %s", b.until.UTC().Format(time.RFC3339))
			s.core.Record(id, name, "disconnect", why.Error(), "ok")
			cancel(why)
		})
		defer expiry.Stop()
	}
	t := &term{s: s, c: c, cs: cs, ctx: ctx, user: id.User, esc: s.core.Policy().Escape}
	t.run(cancel)
}

// term is one browser terminal attached to one console.
type term struct {
	s    *Server
	c    *websocket.Conn
	cs   *frontend.Session
	ctx  context.Context
	user string
	esc  []byte

	wmu sync.Mutex // one writer to the WebSocket at a time

	// input goroutine only
	warnedRO, warnedDown bool
}

// run serves the terminal until the browser goes, the session is cut off
// or consoled stops.
func (t *term) run(cancel context.CancelCauseFunc) {
	t.replayOnAttach()
	t.greet()
	t.sendState()
	pumpDone := make(chan error, 1)
	go func() { pumpDone <- t.pump() }()
	inDone := make(chan error, 1)
	go func() { inDone <- t.input() }()
	var bye string
	select {
	case <-t.cs.Done():
	case err := <-pumpDone:
		bye = "disconnected: " + err.Error()
	case err := <-inDone:
		if errors.Is(err, errDetach) {
			bye = "detached from " + t.cs.Name()
		}
	case <-t.ctx.Done():
	}
	// The reason that ended everything wins over what it made fail: a
	// session cut off, consoled stopping (the pump and the input then end
	// too, and may be seen first).
	switch {
	case t.cs.Cause() != nil:
		bye = "disconnected: " + t.cs.Cause().Error()
	case context.Cause(t.ctx) != nil && !errors.Is(context.Cause(t.ctx), context.Canceled):
		bye = "disconnected: " + context.Cause(t.ctx).Error()
	}
	// Say why, unless the browser does not read (cut off as too slow):
	// then its connection is closed after 2 s, which also frees the
	// output goroutine blocked writing to it.
	told := make(chan struct{})
	go func() {
		if bye != "" {
			t.notice(bye)
			t.sendJSON(map[string]string{"t": "bye", "why": bye})
		}
		close(told)
	}()
	select {
	case <-told:
		cancel(nil)
		t.c.Close(websocket.StatusNormalClosure, "")
	case <-time.After(2 * time.Second):
		cancel(nil)
		t.c.CloseNow()
	}
}

var errDetach = errors.New("detached")

// pump copies console output to the browser: a run of output between
// notices goes out as one message.
func (t *term) pump() error {
	var buf []byte
	for {
		items, err := t.cs.Next(t.ctx)
		if err != nil {
			return err
		}
		buf = buf[:0]
		for _, it := range items {
			if it.Notice == "" {
				buf = append(buf, it.Data...)
				continue
			}
			if err := t.write(buf); err != nil {
				return err
			}
			buf = buf[:0]
			t.notice(it.Notice)
			t.sendState() // writer changes come as notices
		}
		if err := t.write(buf); err != nil {
			return err
		}
		if cap(buf) > 64<<10 {
			buf = nil
		}
	}
}

// write sends terminal bytes.
func (t *term) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout) // not t.ctx: the farewell is written after it ends
	defer cancel()
	if err := t.c.Write(ctx, websocket.MessageBinary, p); err != nil {
		return fmt.Errorf("writing to browser: %w", err)
	}
	return nil
}

// sendJSON sends an event to the page.
func (t *term) sendJSON(v any) {
	b, _ := json.Marshal(v)
	t.wmu.Lock()
	defer t.wmu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout) // not t.ctx: the farewell is written after it ends
	defer cancel()
	t.c.Write(ctx, websocket.MessageText, b)
}

// sendState tells the page who writes and what the user may do (the
// buttons follow it).
func (t *term) sendState() {
	st := t.cs.Console().Status()
	t.sendJSON(map[string]any{"t": "state", "access": t.cs.Access().String(), "writer": st.Writer,
		"me": t.cs.Writer(), "state": string(st.State)})
}

// notice shows a line from consoled in the terminal, as SSH does.
func (t *term) notice(text string) {
	t.write([]byte("\r\n[consoled: " + strings.ReplaceAll(text, "\n", "\r\n") + "]\r\n"))
}

func (t *term) greet() {
	name := t.cs.Name()
	e := escape.Caret(t.esc)
	switch {
	case t.cs.Writer():
		t.notice(fmt.Sprintf("attached to %s read-write; %s? for help", name, e))
	case t.cs.Access() != frontend.ReadWrite:
		t.notice(fmt.Sprintf("attached to %s read-only (you may watch this console, not type on it)", name))
	case t.cs.WriterName() == "":
		t.notice(fmt.Sprintf("attached to %s as a spy; Take write (%sa) to type", name, e))
	default:
		t.notice(fmt.Sprintf("attached to %s read-only: %s has write access; Force write (%sf) takes it", name, t.cs.WriterName(), e))
	}
}

// replayOnAttach shows the last lines of the log, dimmed, before live
// output, made unable to make the terminal answer (termsafe.Replay).
func (t *term) replayOnAttach() {
	if n := t.s.core.Policy().Replay; n > 0 {
		t.replay(n, false)
	}
}

// replay shows the last n lines the console printed.
func (t *term) replay(n int, framed bool) {
	b, err := t.cs.Recent(n)
	if err != nil {
		t.notice("replay: " + err.Error())
		return
	}
	text := strings.ReplaceAll(strings.ReplaceAll(string(termsafe.Replay(b)), "\r\n", "\n"), "\n", "\r\n")
	if framed {
		t.notice(fmt.Sprintf("last %d lines of %s:", n, t.cs.Name()))
	}
	t.write([]byte("\x1b[2m" + text + "\x1b[0m"))
	if framed {
		t.notice("end of replay")
	}
}

// input reads the browser's messages until it goes or detaches.
func (t *term) input() error {
	esc := escape.NewParser(t.esc)
	// Not t.ctx: a Read whose context ends closes the WebSocket, and the
	// browser is still to be told why the terminal ends. Closing it ends
	// this Read.
	for {
		typ, p, err := t.c.Read(context.Background())
		if err != nil {
			return err
		}
		if typ == websocket.MessageText {
			var op action
			if err := json.Unmarshal(p, &op); err != nil {
				t.notice("bad request from the page: " + err.Error())
				continue
			}
			t.do(op)
			continue
		}
		detach := false
		esc.Feed(p, t.send, func(c, arg byte) {
			if c == '.' {
				detach = true
				return
			}
			t.escape(c, arg)
		})
		if detach {
			return errDetach
		}
	}
}

// send types keystrokes on the console, telling once when they go nowhere.
// A viewer's terminal answering the machine's queries is not typing.
func (t *term) send(p []byte) {
	if !t.cs.Writer() || t.cs.Access() != frontend.ReadWrite {
		if p = termsafe.StripReports(p); len(p) == 0 {
			return
		}
	}
	_, err := t.cs.Write(p)
	var d *frontend.DeniedError
	switch {
	case err == nil:
		t.warnedRO, t.warnedDown = false, false
	case errors.As(err, &d):
		if !t.warnedRO {
			t.warnedRO = true
			t.notice("read-only: you may watch " + t.cs.Name() + ", not type on it; keystrokes are not sent")
		}
	case errors.Is(err, mux.ErrReadOnly):
		if !t.warnedRO {
			t.warnedRO = true
			t.notice(fmt.Sprintf("read-only: keystrokes not sent; Take write (%sa) when free, Force write (%sf) takes it", escape.Caret(t.esc), escape.Caret(t.esc)))
		}
	case errors.Is(err, mux.ErrNotUp):
		if !t.warnedDown {
			t.warnedDown = true
			t.notice("console is not connected: keystrokes dropped")
		}
	default:
		t.notice("sending to console: " + err.Error())
	}
}
