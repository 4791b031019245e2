package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"consoled/config"
	"consoled/frontend"
	"consoled/frontend/web"
)

// startWeb serves the web view of w (listening on listen) on core; its
// Serve error comes on errc. The embedded default (anyPort) takes another
// port when its own is taken: a demo should start anyway.
func startWeb(w *config.Web, listen string, anyPort bool, core *frontend.Core, logger *slog.Logger) (*web.Server, <-chan error, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil && anyPort && errors.Is(err, syscall.EADDRINUSE) {
		logger.Warn("web view: address in use, taking another port", "addr", listen)
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("listening for the web view: %w", err)
	}
	scheme := "http"
	if w.TLSCert != "" {
		scheme = "https"
	}
	base := w.BaseURL
	if base == "" {
		base = scheme + "://" + ln.Addr().String()
	}
	// Behind a proxy that speaks HTTPS to browsers, cookies are Secure too.
	secure := w.TLSCert != "" || strings.HasPrefix(base, "https://")
	srv := web.New(web.Options{Core: core, BaseURL: base, TLS: secure, Logger: logger})
	errc := make(chan error, 1)
	go func() {
		if w.TLSCert != "" {
			errc <- srv.ServeTLS(ln, w.TLSCert, w.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	logger.Info("web listening", "addr", ln.Addr().String(), "url", scheme+"://"+ln.Addr().String())
	return srv, errc, nil
}

// webSettings is the web block as one string, to tell when a reload
// changed it (it applies on restart).
func webSettings(w *config.Web) string {
	if w == nil {
		return "off"
	}
	return fmt.Sprintf("%+v", *w)
}

// webHint is the ssh command that prints a web login link, from the
// demo's ssh hint ("ssh ... -t console@127.0.0.1 demo").
func webHint(hint string) string {
	return strings.Replace(strings.TrimSuffix(hint, " demo"), " -t ", " ", 1) + " web"
}

// demoLink is a login link for the embedded default's user, printed at
// start beside the ssh command.
func demoLink(core *frontend.Core, cfg *config.Config) string {
	user := cfg.Users[len(cfg.Users)-1].Name // the local user, added last
	link, err := core.WebLink(frontend.Identity{User: user, From: "the terminal that started consoled", Via: "local"}, time.Time{})
	if err != nil {
		return "(no link: " + err.Error() + ")"
	}
	return link
}
