package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"consoled/config"
	"consoled/frontend"
	"consoled/frontend/frontendtest"
	"consoled/internal/testharness"
	"consoled/mux"
	"consoled/registry"
)

// A browser terminal opened through a link for a key with an expiry-time
// (or a certificate's valid-before) ends when the key expires, saying why,
// and the audit log has the disconnect, as an SSH session does.
func TestWebTerminalEndsAtKeyExpiry(t *testing.T) {
	alice := frontendtest.NewPerson(t, "alice")
	cfg, diags := config.Parse([]byte(alice.Block()+"log_dir = \""+t.TempDir()+"\"\nconsole \"c1\" {\n  demo {}\n}\n"), "test.hcl", t.TempDir())
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
	con, _ := reg.Console("c1")
	waitUntil(t, "the console up", func() bool { return con.Status().State == mux.StateUp })

	until := time.Now().Add(3 * time.Second).Truncate(time.Second)
	term := openTerminal(t, core, hs, alice.ID("ssh"), "c1", until)
	term.expect(`attached to c1 read-write`)
	term.expect(`disconnected: the key this web session was opened with expired at ` + until.UTC().Format(time.RFC3339))
	if time.Now().Before(until) {
		t.Errorf("the terminal ended before the key's expiry (%s)", until)
	}
	waitUntil(t, "the disconnect audited", func() bool {
		return strings.Contains(audit.String(), `"action":"disconnect","detail":"the key this web session was opened with expired at`)
	})
}
