package sshd

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"consoled/authkeys"
	"consoled/frontend"
	"consoled/mux"
)

type noConsoles struct{}

func (noConsoles) Console(string) (*mux.Console, bool) { return nil, false }
func (noConsoles) Consoles() []*mux.Console            { return nil }

func newSigner(t *testing.T) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startServer runs a Server on loopback with alice's key (its
// authorized_keys options given as opts) and returns its address.
func startServer(t *testing.T, alice gossh.Signer, opts string) string {
	t.Helper()
	addr, _ := startServerAt(t, alice, opts)
	return addr
}

// keyring has alice's key with authorized_keys options opts.
func keyring(t *testing.T, alice gossh.Signer, opts string) *authkeys.Keyring {
	t.Helper()
	k, err := authkeys.Parse(strings.TrimSpace(opts + " " + string(gossh.MarshalAuthorizedKey(alice.PublicKey()))))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := authkeys.NewKeyring(map[string][]authkeys.Key{"alice": {k}})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func startServerAt(t *testing.T, alice gossh.Signer, opts string) (string, *Server) {
	t.Helper()
	kr := keyring(t, alice, opts)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := New(Options{Core: frontend.New(frontend.Options{Consoles: noConsoles{}, Logger: log}), Keys: kr,
		HostKey: newSigner(t), Logger: log})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return ln.Addr().String(), srv
}

// run runs cmd in a new session on c: exit status and stderr.
func run(t *testing.T, c *gossh.Client, cmd string) (int, string) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var stderr bytes.Buffer
	sess.Stderr = &stderr
	err = sess.Run(cmd)
	var exit *gossh.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &exit):
		return exit.ExitStatus(), stderr.String()
	}
	t.Fatalf("%s: %v", cmd, err)
	return -1, ""
}

// A new session on a connection opened earlier (a ControlMaster) is
// decided by the keys in force now: a change of the key's from= refuses
// it. A connection whose key's expiry-time passes is closed then.
func TestKeyDecidedPerSession(t *testing.T) {
	alice := newSigner(t)
	addr, srv := startServerAt(t, alice, `from="127.0.0.1"`)
	c := dial(t, addr, alice)
	if code, errOut := run(t, c, "help"); code != 0 {
		t.Fatalf("help: %d %q", code, errOut)
	}
	srv.SetKeys(keyring(t, alice, `from="127.0.0.2"`))
	if code, errOut := run(t, c, "help"); code != 1 || !strings.Contains(errOut, "not from 127.0.0.1") {
		t.Errorf("after from= changed: %d %q", code, errOut)
	}

	expiry := time.Now().Add(5 * time.Second).Truncate(time.Second)
	addr, _ = startServerAt(t, alice, `expiry-time="`+expiry.UTC().Format("20060102150405")+`Z"`)
	c = dial(t, addr, alice)
	if code, errOut := run(t, c, "help"); code != 0 {
		t.Fatalf("help before expiry-time %s: %d %q", expiry, code, errOut)
	}
	closed := make(chan struct{})
	go func() { c.Wait(); close(closed) }()
	select {
	case <-closed:
		if time.Now().Before(expiry) {
			t.Errorf("connection closed before its key's expiry-time %s", expiry)
		}
	case <-time.After(time.Until(expiry) + 30*time.Second):
		t.Fatalf("connection still open 30 s after its key's expiry-time %s", expiry)
	}
}

func dial(t *testing.T, addr string, key gossh.Signer) *gossh.Client {
	t.Helper()
	c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: "console", Auth: []gossh.AuthMethod{gossh.PublicKeys(key)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Agent, X11 and port forwarding and environment variables are refused:
// each request is answered "no".
func TestForwardingAndEnvRefused(t *testing.T) {
	alice := newSigner(t)
	c := dial(t, startServer(t, alice, ""), alice)
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	go gossh.DiscardRequests(reqs)
	defer ch.Close()
	x11 := gossh.Marshal(struct {
		Single        bool
		Proto, Cookie string
		Screen        uint32
	}{false, "MIT-MAGIC-COOKIE-1", "0123456789abcdef", 0})
	for _, r := range []struct {
		typ     string
		payload []byte
	}{
		{"auth-agent-req@openssh.com", nil},
		{"x11-req", x11},
		{"env", gossh.Marshal(struct{ Name, Value string }{"LANG", "C"})},
	} {
		ok, err := ch.SendRequest(r.typ, true, r.payload)
		if err != nil || ok {
			t.Errorf("%s: answered %v (%v), want false", r.typ, ok, err)
		}
	}
	fwd := gossh.Marshal(struct {
		Addr string
		Port uint32
	}{"127.0.0.1", 0})
	if ok, _, err := c.SendRequest("tcpip-forward", true, fwd); err != nil || ok {
		t.Errorf("tcpip-forward: answered %v (%v), want false", ok, err)
	}
	direct := gossh.Marshal(struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}{"127.0.0.1", 22, "127.0.0.1", 4000})
	if ch, _, err := c.OpenChannel("direct-tcpip", direct); err == nil {
		ch.Close()
		t.Error("direct-tcpip channel opened")
	}
	// The session still works after the refusals.
	ok, err := ch.SendRequest("exec", true, gossh.Marshal(struct{ Cmd string }{"help"}))
	if err != nil || !ok {
		t.Fatalf("exec after refusals: %v %v", ok, err)
	}
	out, _ := io.ReadAll(ch)
	if !bytes.Contains(out, []byte("consoled: serial consoles over SSH")) {
		t.Errorf("help: %q", out)
	}
}

// An unbalanced quote is an error (exit 2), not a command run on what
// could be parsed.
func TestUnbalancedQuote(t *testing.T) {
	alice := newSigner(t)
	c := dial(t, startServer(t, alice, ""), alice)
	for _, cmd := range []string{`send vm1 'abc`, `send vm1 "abc`, `help \`} {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		sess.Stderr = &stderr
		err = sess.Run(cmd)
		var exit *gossh.ExitError
		if !errors.As(err, &exit) || exit.ExitStatus() != 2 || !strings.Contains(stderr.String(), "cannot read the command line") {
			t.Errorf("%s: %v, stderr %q", cmd, err, stderr.String())
		}
	}
}

// A key whose line says restrict gets no terminal (and keeps working
// without one).
func TestRestrictedKeyGetsNoPTY(t *testing.T) {
	alice := newSigner(t)
	c := dial(t, startServer(t, alice, "restrict"), alice)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err == nil {
		t.Error("pty granted to a restrict key")
	}
	out, err := sess.Output("help")
	if err != nil || !strings.Contains(string(out), "serial consoles over SSH") {
		t.Errorf("help without a pty: %v %q", err, out)
	}
	// The same key without restrict gets one.
	c = dial(t, startServer(t, alice, ""), alice)
	sess, err = c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Errorf("pty refused to a plain key: %v", err)
	}
}
