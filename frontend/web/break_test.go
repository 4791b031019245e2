package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"consoled/config"
	"consoled/frontend"
	"consoled/frontend/frontendtest"
	"consoled/internal/testharness"
	"consoled/mux"
	"consoled/registry"
)

// The web terminal words a BREAK's outcome as SSH does (one helper): on a
// console that cannot send BREAK (an exec console without break) the
// writer is told "BREAK refused: ..."; a viewer with rw access, while
// someone else writes, is told who writes and how to take write access.
func TestWebBreakOutcomes(t *testing.T) {
	alice, bob := frontendtest.NewPerson(t, "alice"), frontendtest.NewPerson(t, "bob")
	core, hs, _ := serveConsoles(t, alice.Block()+bob.Block()+"console \"cat\" {\n  exec { command = [\"/bin/cat\"] }\n}\n", "cat")

	aliceTerm := openTerminal(t, core, hs, alice.ID("ssh"), "cat", time.Time{})
	aliceTerm.expect(`attached to cat read-write`)
	bobTerm := openTerminal(t, core, hs, bob.ID("ssh"), "cat", time.Time{})
	bobTerm.expect(`attached to cat read-only: alice has write access`)

	aliceTerm.send("\x05cl0")
	aliceTerm.expect(`BREAK refused: this console has no way to send BREAK`)
	bobTerm.send("\x05cl0")
	bobTerm.expect(`BREAK not sent: read-only: another user has write access \(alice\); \^Eca takes write access when free, \^Ecf forces it`)
}

// serveConsoles starts a web server on a core over the consoles of config
// src (log_dir is added), with its audit log, and waits until console up
// is up.
func serveConsoles(t *testing.T, src, up string) (*frontend.Core, *httptest.Server, *testharness.Buffer) {
	t.Helper()
	cfg, diags := config.Parse([]byte(src+"log_dir = \""+t.TempDir()+"\"\n"), "test.hcl", t.TempDir())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := registry.New(cfg, quiet)
	if _, err := reg.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.StopAll(errors.New("test over")) })
	audit := &testharness.Buffer{}
	core := frontend.New(frontend.Options{Consoles: reg, Audit: frontend.NewAuditor(audit, nil), Logger: quiet,
		LogDir: cfg.LogDir, Policy: frontend.PolicyFrom(cfg)})
	srv := New(Options{Core: core, Logger: quiet})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	srv.base = hs.URL
	con, _ := reg.Console(up)
	waitUntil(t, "the console up", func() bool { return con.Status().State == mux.StateUp })
	return core, hs, audit
}

// browserTerm is a terminal WebSocket as the page opens it.
type browserTerm struct {
	t    *testing.T
	c    *websocket.Conn
	seen strings.Builder
}

// openTerminal logs id in with a login link (for a key that expires at
// until; zero: never) and opens console name's terminal (write mode).
func openTerminal(t *testing.T, core *frontend.Core, hs *httptest.Server, id frontend.Identity, name string, until time.Time) *browserTerm {
	t.Helper()
	cookie, csrf := logIn(t, core, hs, id, until)
	c := dialTerminal(t, hs, cookie, csrf, name, "")
	t.Cleanup(func() { c.CloseNow() })
	return &browserTerm{t: t, c: c}
}

// logIn opens a login link for id (for a key that expires at until; zero:
// never) and the page; it returns the session cookie and the page's CSRF
// token.
func logIn(t *testing.T, core *frontend.Core, hs *httptest.Server, id frontend.Identity, until time.Time) (cookie, csrf string) {
	t.Helper()
	link, err := core.WebLink(id, until)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) != 1 {
		t.Fatalf("login link: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	cookie = resp.Cookies()[0].Value
	req, _ := http.NewRequest("GET", hs.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" content="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return cookie, string(m[1])
}

// dialTerminal opens console name's terminal WebSocket with the session
// cookie and CSRF token; query ("" or "spy=1&", say) goes before csrf=.
func dialTerminal(t *testing.T, hs *httptest.Server, cookie, csrf, name, query string) *websocket.Conn {
	t.Helper()
	h := http.Header{"Cookie": {cookieName + "=" + cookie}, "Origin": {hs.URL}}
	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(hs.URL, "http")+"/ws/console/"+name+"?"+query+"csrf="+csrf,
		&websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(-1)
	return c
}

// send types s in the terminal.
func (b *browserTerm) send(s string) {
	b.t.Helper()
	if err := b.c.Write(context.Background(), websocket.MessageBinary, []byte(s)); err != nil {
		b.t.Fatal(err)
	}
}

// expect reads the terminal until what it showed since the last match
// matches re.
func (b *browserTerm) expect(re string) {
	b.t.Helper()
	rx := regexp.MustCompile(re)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		if loc := rx.FindStringIndex(b.seen.String()); loc != nil {
			rest := b.seen.String()[loc[1]:]
			b.seen.Reset()
			b.seen.WriteString(rest)
			return
		}
		_, p, err := b.c.Read(ctx)
		if err != nil {
			b.t.Fatalf("no match for %q: %v; seen:\n%q", re, err, b.seen.String())
		}
		b.seen.Write(p)
	}
}
