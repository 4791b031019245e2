package web

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"consoled/config"
	"consoled/frontend"
	"consoled/frontend/frontendtest"
	"consoled/internal/testharness"
	"consoled/registry"
)

// site is a web server on a core with demo console c1, on loopback.
type site struct {
	t     *testing.T
	srv   *Server
	http  *httptest.Server
	core  *frontend.Core
	reg   *registry.Registry
	audit *testharness.Buffer
	alice frontend.Identity
	src   string // the config, less alice's keys
}

func newSite(t *testing.T, tls bool) *site {
	t.Helper()
	alice := frontendtest.NewPerson(t, "alice")
	s := &site{t: t, audit: &testharness.Buffer{}, src: "log_dir = \"" + t.TempDir() + "\"\nconsole \"c1\" {\n  demo {}\n  rw = [\"alice\"]\n}\n"}
	s.alice = alice.ID("ssh")
	cfg := s.parse(alice.Block())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s.reg = registry.New(cfg, quiet)
	if _, err := s.reg.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.reg.StopAll(errors.New("test over")) })
	s.core = frontend.New(frontend.Options{Consoles: s.reg, Audit: frontend.NewAuditor(s.audit, nil), Logger: quiet,
		LogDir: cfg.LogDir, Policy: frontend.PolicyFrom(cfg)})
	s.srv = New(Options{Core: s.core, TLS: tls, Logger: quiet})
	if tls {
		s.http = httptest.NewTLSServer(s.srv.Handler())
	} else {
		s.http = httptest.NewServer(s.srv.Handler())
	}
	s.srv.base = s.http.URL
	t.Cleanup(s.http.Close)
	return s
}

func (s *site) parse(users string) *config.Config {
	s.t.Helper()
	cfg, diags := config.Parse([]byte(users+s.src), "test.hcl", s.t.TempDir())
	if diags.HasErrors() {
		s.t.Fatal(diags)
	}
	return cfg
}

// get fetches path (or a whole URL) with cookie c ("" for none).
func (s *site) get(path, c string) (*http.Response, string) {
	s.t.Helper()
	url := path
	if strings.HasPrefix(path, "/") {
		url = s.http.URL + path
	}
	req, _ := http.NewRequest("GET", url, nil)
	if c != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: c})
	}
	resp, err := s.http.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// login gets a link for alice and opens it; it returns the cookie set.
func (s *site) login() *http.Cookie {
	s.t.Helper()
	link, err := s.core.WebLink(s.alice, time.Time{})
	if err != nil {
		s.t.Fatal(err)
	}
	resp, body := s.get(link, "")
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 1 {
		s.t.Fatalf("login: %d %v\n%s", resp.StatusCode, resp.Cookies(), body)
	}
	return resp.Cookies()[0]
}

// A link works once, for LinkTTL; the session cookie is HttpOnly and
// SameSite=Strict (Secure under TLS), ends after IdleTimeout unused, and
// ends when a reload takes the user's key away.
func TestLoginLinks(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			s := newSite(t, tls)
			c := s.login()
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != tls || c.Path != "/" {
				t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Secure=%v", c, tls)
			}
			if resp, body := s.get("/", c.Value); resp.StatusCode != http.StatusOK || !strings.Contains(body, `<span class="user">alice</span>`) {
				t.Errorf("the list with the cookie: %d\n%s", resp.StatusCode, body)
			}
			if resp, _ := s.get("/", ""); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("the list without a cookie: %d", resp.StatusCode)
			}
			s.srv.auth.now = func() time.Time { return time.Now().Add(IdleTimeout + time.Minute) }
			if resp, _ := s.get("/api/consoles", c.Value); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("a session idle past IdleTimeout: %d, want 401", resp.StatusCode)
			}
		})
	}
	s := newSite(t, false)
	link, _ := s.core.WebLink(s.alice, time.Time{})
	s.srv.auth.now = func() time.Time { return time.Now().Add(LinkTTL + time.Second) }
	if resp, body := s.get(link, ""); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "expired") || len(resp.Cookies()) != 0 {
		t.Errorf("an expired link: %d %v\n%s", resp.StatusCode, resp.Cookies(), body)
	}
	s.srv.auth.now = time.Now
	if resp, body := s.get(link, ""); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not valid") {
		t.Errorf("an expired link tried again: %d\n%s", resp.StatusCode, body)
	}
	// A key with an expiry (expiry-time, a certificate's valid-before)
	// bounds the browser session too.
	link, _ = s.core.WebLink(s.alice, time.Now().Add(30*time.Minute))
	resp, _ := s.get(link, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login with a key valid 30 min more: %d", resp.StatusCode)
	}
	s.srv.auth.now = func() time.Time { return time.Now().Add(31 * time.Minute) }
	if resp, _ := s.get("/api/consoles", resp.Cookies()[0].Value); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a session past its key's expiry: %d, want 401", resp.StatusCode)
	}
	link, _ = s.core.WebLink(s.alice, time.Now().Add(30*time.Second))
	if resp, body := s.get(link, ""); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "key this login link was issued for has expired") {
		t.Errorf("a link whose key expired before it was opened: %d\n%s", resp.StatusCode, body)
	}
	s.srv.auth.now = time.Now
	c := s.login()
	s.core.SetPolicy(frontend.PolicyFrom(s.parse("user \"alice\" {\n  keys = []\n}\n")))
	if resp, _ := s.get("/api/consoles", c.Value); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a session whose key was removed: %d, want 401", resp.StatusCode)
	}
	if _, err := s.core.WebLink(s.alice, time.Time{}); !errors.Is(err, frontend.ErrDenied) {
		t.Errorf("a link for a removed key: %v", err)
	}
	for _, want := range []string{`"user":"alice","key":"SHA256:`, `"via":"ssh","action":"weblink","result":"ok"`,
		`"via":"web","action":"login","result":"ok"`, `"action":"login","result":"refused: this login link has expired`,
		`"action":"weblink","result":"refused: key SHA256:`} {
		if !strings.Contains(s.audit.String(), want) {
			t.Errorf("audit log lacks %s:\n%s", want, s.audit)
		}
	}
}

// Every answer carries a CSP that allows no inline script, and no page or
// template has one (no <script> without src, no on...= handlers).
func TestNoInlineScript(t *testing.T) {
	s := newSite(t, false)
	c := s.login()
	for _, path := range []string{"/", "/console/c1", "/console/c1/log", "/panics", "/static/term.js", "/nope"} {
		resp, body := s.get(path, c.Value)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
		low := strings.ToLower(body)
		for _, tag := range strings.Split(low, "<script")[1:] {
			if !strings.HasPrefix(tag, ` src="/static/`) {
				t.Errorf("%s: inline script <script%s", path, tag[:min(len(tag), 60)])
			}
		}
		for _, h := range []string{" onclick=", " onload=", " onerror=", " onsubmit=", "javascript:"} {
			if strings.HasSuffix(path, ".js") {
				break
			}
			if strings.Contains(low, h) {
				t.Errorf("%s: inline handler %s", path, h)
			}
		}
	}
}

func TestQuoteArgs(t *testing.T) {
	got := quoteArgs([]string{"vm1", "--since", "2026-11-23T03:00", "--grep", `^hi-\d+`, "--grep", "it's", "--until", ""})
	want := `vm1 --since 2026-11-23T03:00 --grep '^hi-\d+' --grep 'it'\''s' --until ''`
	if got != want {
		t.Errorf("quoteArgs = %s, want %s", got, want)
	}
}
