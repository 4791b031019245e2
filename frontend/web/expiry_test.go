package web

import (
	"strings"
	"testing"
	"time"

	"consoled/frontend/frontendtest"
)

// A browser terminal opened through a link for a key with an expiry-time
// (or a certificate's valid-before) ends when the key expires, saying why,
// and the audit log has the disconnect, as an SSH session does.
func TestWebTerminalEndsAtKeyExpiry(t *testing.T) {
	alice := frontendtest.NewPerson(t, "alice")
	core, hs, audit := serveConsoles(t, alice.Block()+"console \"c1\" {\n  demo {}\n}\n", "c1")

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
