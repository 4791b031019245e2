package web

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"sort"
	"strings"

	"consoled/frontend"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// staticFiles serves the embedded scripts, styles and xterm.js.
func staticFiles() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// page is what a template shows.
type page struct {
	Title, User, CSRF, Message string
	Console, Access, Escape    string
	Breaks                     []breakInfo

	// the history page
	Q               logQuery
	Output, Error   string
	Truncated       string
	Timeline        template.HTML
	TimelineCaption string

	// the crash list
	Since   string
	Crashes []crashView
}

type breakInfo struct {
	N      int
	Source string
}

// render writes template name with p.
func (s *Server) render(w http.ResponseWriter, code int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := templates.ExecuteTemplate(w, name, p); err != nil {
		s.log.Error("rendering page", "page", name, "err", err)
	}
}

// basePage is a page for the request's browser session.
func basePage(r *http.Request, title string) page {
	b, _ := browserFor(r)
	return page{Title: title, User: b.id.User, CSRF: b.csrf}
}

// listPage is / : the consoles (filled and kept live by list.js).
func (s *Server) listPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "list", basePage(r, "Consoles"))
}

// termPage is /console/NAME: its terminal.
func (s *Server) termPage(w http.ResponseWriter, r *http.Request) {
	b, _ := browserFor(r)
	name := r.PathValue("name")
	acc := s.core.Access(b.identity(r), name)
	if acc == frontend.NoAccess {
		s.noConsole(w, r, name)
		return
	}
	p := basePage(r, name)
	p.Console, p.Access = name, acc.String()
	pol := s.core.Policy()
	p.Escape = string(pol.Escape)
	for n, seq := range pol.Breaks {
		p.Breaks = append(p.Breaks, breakInfo{N: n, Source: seq.Source})
	}
	sort.Slice(p.Breaks, func(i, j int) bool { return p.Breaks[i].N < p.Breaks[j].N })
	s.render(w, http.StatusOK, "term", p)
}

// noConsole answers for a console that does not exist for the user.
func (s *Server) noConsole(w http.ResponseWriter, r *http.Request, name string) {
	p := basePage(r, "No such console")
	p.Message = "No console " + name + "."
	s.render(w, http.StatusNotFound, "message", p)
}

// consoleJSON is one console of /api/consoles.
type consoleJSON struct {
	Name       string `json:"name"`
	Backend    string `json:"backend"`
	Detail     string `json:"detail,omitempty"`
	State      string `json:"state"`
	Since      string `json:"since"`
	Error      string `json:"error,omitempty"`
	LogError   string `json:"log_error,omitempty"`
	Writer     string `json:"writer,omitempty"`
	Viewers    int    `json:"viewers"`
	Access     string `json:"access"`
	LastOutput string `json:"last_output,omitempty"`
	LastCrash  string `json:"last_crash,omitempty"`
	CrashTime  string `json:"crash_time,omitempty"`
}

// apiConsoles lists the consoles the user may see, as JSON.
func (s *Server) apiConsoles(w http.ResponseWriter, r *http.Request) {
	b, _ := browserFor(r)
	id := b.identity(r)
	crashes, err := s.core.Crashes(id, timeZero)
	if err != nil && !errors.Is(err, frontend.ErrDenied) {
		s.log.Warn("reading the crash list", "err", err)
	}
	last := map[string]int{}
	for i := len(crashes) - 1; i >= 0; i-- { // newest first: the first one seen wins
		last[crashes[i].Console] = i
	}
	out := []consoleJSON{}
	for _, e := range s.core.List(id) {
		c := consoleJSON{Name: e.Name, Backend: e.Kind, Detail: e.Detail, State: string(e.State), Since: stamp(e.Since),
			Writer: e.Writer, Viewers: e.Viewers, Access: e.Access.String(), LastOutput: stamp(e.LastOutput)}
		if e.State != "up" && e.Err != nil {
			c.Error = frontend.OneLine(e.Err.Error())
		}
		if e.LogErr != nil {
			c.LogError = frontend.OneLine(e.LogErr.Error())
		}
		if i, ok := last[e.Name]; ok {
			c.LastCrash, c.CrashTime = crashes[i].Headline, stamp(crashes[i].Time)
		}
		out = append(out, c)
	}
	writeJSON(w, out)
}

// nameOK: a console name as the URL carries it (no path tricks).
func nameOK(name string) bool {
	return name != "" && !strings.ContainsAny(name, "/\\") && !strings.HasPrefix(name, ".")
}
