package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"consoled/frontend"
)

// Options configure a Server.
type Options struct {
	Core *frontend.Core // decides, records and carries out every action
	// BaseURL starts login links, e.g. "https://console.example.net"
	// behind a proxy; empty: the address Serve listens on.
	BaseURL string
	TLS     bool // browsers reach it over HTTPS (its own or a proxy's): cookies are Secure
	Logger  *slog.Logger
}

// ErrShutdown is the cause terminals see when consoled stops.
var ErrShutdown = frontend.ErrShutdown

// Server is the web frontend.
type Server struct {
	opts Options
	log  *slog.Logger
	core *frontend.Core
	auth *auth
	http *http.Server

	gate *frontend.Gate // terminals, refused and ended on shutdown

	mu   sync.Mutex
	base string // what login links start with
}

// New returns a server and makes it the core's issuer of login links.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, log: opts.Logger, core: opts.Core, auth: newAuth(), base: strings.TrimRight(opts.BaseURL, "/"),
		gate: frontend.NewGate()}
	s.http = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)}
	opts.Core.SetWebLinks(s.link)
	opts.Core.Watch(func() { s.auth.prune(s.core.Stands) })
	return s
}

// link is a one-time login link for id (the core's LinkIssuer).
func (s *Server) link(id frontend.Identity, until time.Time) (string, error) {
	s.mu.Lock()
	base := s.base
	s.mu.Unlock()
	if base == "" {
		return "", errors.New("the web view is not listening yet")
	}
	return base + "/login?t=" + s.auth.issue(id, until), nil
}

// Handler serves every page, the API and the terminals' WebSockets.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", s.login)
	mux.HandleFunc("POST /logout", s.needBrowser(s.needCSRF(s.logout)))
	mux.HandleFunc("GET /{$}", s.needBrowser(s.listPage))
	mux.HandleFunc("GET /console/{name}", s.needBrowser(s.termPage))
	mux.HandleFunc("GET /console/{name}/log", s.needBrowser(s.logPage))
	mux.HandleFunc("GET /console/{name}/timeline.svg", s.needBrowser(s.timelineImage))
	mux.HandleFunc("GET /panics", s.needBrowser(s.panicsPage))
	mux.HandleFunc("GET /api/consoles", s.needBrowser(s.apiConsoles))
	mux.HandleFunc("GET /ws/console/{name}", s.needBrowser(s.terminal))
	mux.Handle("GET /static/", staticFiles())
	return s.guard(mux)
}

// Serve serves HTTP on ln until Shutdown; login links point at ln's
// address unless Options.BaseURL says otherwise.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, "", "") }

// ServeTLS is Serve over HTTPS with the given certificate and key files.
func (s *Server) ServeTLS(ln net.Listener, certFile, keyFile string) error {
	return s.serve(ln, certFile, keyFile)
}

func (s *Server) serve(ln net.Listener, cert, key string) error {
	s.mu.Lock()
	if s.base == "" {
		scheme := "http"
		if cert != "" {
			scheme = "https"
		}
		s.base = scheme + "://" + ln.Addr().String()
	}
	s.mu.Unlock()
	var err error
	if cert != "" {
		err = s.http.ServeTLS(ln, cert, key)
	} else {
		err = s.http.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// BaseURL is what login links start with.
func (s *Server) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// Shutdown stops accepting, tells every terminal why it ends, and waits for
// them (or ctx).
func (s *Server) Shutdown(ctx context.Context) error {
	s.gate.Close(ctx)
	return s.http.Shutdown(ctx)
}

// csp allows only the server's own scripts: no inline script anywhere.
const csp = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// guard is the outermost handler: security headers on every answer, and a
// panic in one request answered with a 500 instead of taking consoled down.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin") // a login link never leaks to another site; POSTs keep their Origin
		if s.opts.TLS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		defer func() {
			if v := recover(); v != nil && v != http.ErrAbortHandler {
				s.log.Error("web request panicked", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// browserKey carries the request's browser session in its context.
type browserKey struct{}

type browserCtx struct {
	cookie string
	b      *browser
}

// needBrowser refuses a request without a live browser session (a page is
// told how to log in) and one whose user no longer stands.
func (s *Server) needBrowser(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cookie, b, ok := s.auth.browserOf(r)
		if ok {
			if err := s.core.Stands(b.identity(r)); err != nil {
				s.auth.end(cookie)
				ok = false
			}
		}
		if !ok {
			s.loggedOut(w, r)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), browserKey{}, browserCtx{cookie, b})))
	}
}

// browserFor is the request's browser session (needBrowser put it there).
func browserFor(r *http.Request) (*browser, string) {
	bc := r.Context().Value(browserKey{}).(browserCtx)
	return bc.b, bc.cookie
}

// needCSRF refuses a state-changing request that does not carry the
// session's CSRF token (header X-CSRF-Token or form field csrf), or that
// comes from another origin.
func (s *Server) needCSRF(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := browserFor(r)
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10) // a form of ours is a token
		tok := r.Header.Get("X-CSRF-Token")
		if tok == "" {
			tok = r.PostFormValue("csrf")
		}
		why := ""
		switch {
		case !b.csrfOK(tok):
			why = "missing or wrong CSRF token"
		case !sameOrigin(r):
			why = "request from another origin (" + r.Header.Get("Origin") + ")"
		}
		if why != "" {
			s.core.Record(b.identity(r), "", "web", r.Method+" "+r.URL.Path, "refused: "+why)
			http.Error(w, "refused: "+why, http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

// sameOrigin: the request's Origin header, when the browser sent one,
// names this host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	_, host, ok := strings.Cut(o, "://")
	return ok && strings.EqualFold(host, r.Host)
}

// loggedOut answers a request without a session.
func (s *Server) loggedOut(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/ws/") || r.Method != http.MethodGet {
		http.Error(w, "not logged in", http.StatusUnauthorized)
		return
	}
	s.render(w, http.StatusUnauthorized, "message", page{Title: "Not logged in",
		Message: "Not logged in (or the session ended). Get a login link with: ssh console@" + hostOnly(r.Host) + " web"})
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// login redeems a login link: it starts a browser session and goes on to
// the console list.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	cookie, b, err := s.auth.redeem(r.URL.Query().Get("t"))
	if err == nil {
		err = s.core.Stands(b.identity(r))
		if err != nil {
			s.auth.end(cookie)
		}
	}
	if err != nil {
		s.core.Record(frontend.Identity{From: r.RemoteAddr, Via: "web"}, "", "login", "", "refused: "+err.Error())
		s.render(w, http.StatusForbidden, "message", page{Title: "Login refused",
			Message: fmt.Sprintf("%v. Get a new one with: ssh console@%s web", err, hostOnly(r.Host))})
		return
	}
	s.core.Record(b.identity(r), "", "login", "", "ok")
	s.log.Info("web login", "user", b.id.User, "from", r.RemoteAddr)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: cookie, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opts.TLS})
	// A page that moves on by itself rather than a redirect: a strict
	// cookie set while following a link from elsewhere is sent on the
	// next navigation, not on a redirect of this one.
	s.render(w, http.StatusOK, "login", page{Title: "Logged in", User: b.id.User})
}

// logout ends the browser session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	b, cookie := browserFor(r)
	s.auth.end(cookie)
	s.core.Record(b.identity(r), "", "logout", "", "ok")
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opts.TLS})
	s.render(w, http.StatusOK, "message", page{Title: "Logged out", Message: "Logged out."})
}
