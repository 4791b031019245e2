package frontend_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"consoled/config"
	"consoled/frontend"
	"consoled/frontend/frontendtest"
	"consoled/internal/testharness"
	"consoled/mux"
	"consoled/registry"
)

// gateway is a core on a registry of demo consoles, reloadable.
type gateway struct {
	t     *testing.T
	dir   string
	reg   *registry.Registry
	core  *frontend.Core
	audit *testharness.Buffer
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(new(testharness.Buffer), nil)) }

func (g *gateway) parse(src string) *config.Config {
	g.t.Helper()
	cfg, diags := config.Parse([]byte("log_dir = \"logs\"\n"+src), "test.hcl", g.dir)
	if diags.HasErrors() {
		g.t.Fatalf("config: %v", diags)
	}
	return cfg
}

func start(t *testing.T, src string) *gateway {
	t.Helper()
	g := &gateway{t: t, dir: t.TempDir(), audit: &testharness.Buffer{}}
	cfg := g.parse(src)
	g.reg = registry.New(cfg, quiet())
	if _, err := g.reg.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.reg.StopAll(errors.New("test over")) })
	g.core = frontend.New(frontend.Options{Consoles: g.reg, Audit: frontend.NewAuditor(g.audit, nil),
		Logger: quiet(), LogDir: cfg.LogDir, Policy: frontend.PolicyFrom(cfg)})
	return g
}

// reload applies src as consoled's reload does.
func (g *gateway) reload(src string) {
	g.t.Helper()
	cfg := g.parse(src)
	if _, err := g.reg.Apply(cfg); err != nil {
		g.t.Fatal(err)
	}
	g.core.SetPolicy(frontend.PolicyFrom(cfg))
}

func (g *gateway) waitUp(name string) {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, ok := g.reg.Console(name); ok && c.Status().State == mux.StateUp {
			return
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("console %s not up", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const demo = "  demo {}\n"

func console(name, lists string) string {
	return fmt.Sprintf("console %q {\n%s%s}\n", name, demo, lists)
}

// waitNotice waits for a notice containing text among s's output.
func waitNotice(t *testing.T, s *frontend.Session, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		items, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("no notice %q: %v", text, err)
		}
		for _, it := range items {
			if strings.Contains(it.Notice, text) {
				return
			}
		}
	}
}

func mustDeny(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, frontend.ErrDenied) {
		t.Errorf("%s after the reload: %v, want a refusal", what, err)
	}
}

// A writer demoted to ro by a reload is a viewer at once and is told; from
// then on typing, BREAK, takeover, power and send are refused, and the
// audit log says so.
func TestReloadDemotesWriter(t *testing.T) {
	alice := frontendtest.NewPerson(t, "alice")
	g := start(t, alice.Block()+console("m", `  rw = ["alice"]`+"\n"))
	g.waitUp("m")
	s, err := g.core.Attach(alice.ID("test"), "m", frontend.Write)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Writer() {
		t.Fatal("alice is not the writer")
	}
	if _, err := s.Write([]byte("\r")); err != nil {
		t.Fatalf("typing before the reload: %v", err)
	}
	spy, err := g.core.Attach(alice.ID("test"), "m", frontend.Watch) // rw, but watching
	if err != nil {
		t.Fatal(err)
	}
	defer spy.Close()

	g.reload(alice.Block() + console("m", `  ro = ["alice"]`+"\n"))
	if s.Writer() {
		t.Error("demoted alice still has write access")
	}
	waitNotice(t, s, "your access to m is now read-only")
	waitNotice(t, spy, "your access to m is now read-only")
	_, err = spy.TakeWrite(false)
	mustDeny(t, "the spy taking write access", err)
	_, err = s.Write([]byte("reboot\r"))
	mustDeny(t, "typing", err)
	mustDeny(t, "BREAK", s.Break(context.Background(), 0))
	_, err = s.TakeWrite(true)
	mustDeny(t, "takeover", err)
	_, err = s.TakeWrite(false)
	mustDeny(t, "taking free write access", err)
	_, err = g.core.Power(context.Background(), alice.ID("test"), "m", "cycle")
	mustDeny(t, "power cycle", err)
	mustDeny(t, "send", g.core.Send(alice.ID("test"), "m", []byte("x"), true))
	if _, err := g.core.Attach(alice.ID("test"), "m", frontend.Force); !errors.Is(err, frontend.ErrDenied) {
		t.Errorf("attach --force after the reload: %v", err)
	}
	select {
	case <-s.Done():
		t.Errorf("a viewer was cut off: %v", s.Cause())
	default:
	}
	audit := g.audit.String()
	for _, want := range []string{`"action":"demote"`, `"action":"type","result":"refused: read-only access"`,
		`"action":"break","detail":"BREAK","result":"refused: read-only access"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %s:\n%s", want, audit)
		}
	}
}

// A writer displaced by a takeover and then demoted by a reload is not
// handed write access back when the taker's session ends: nobody writes.
func TestReloadDemotedLenderGetsNothingBack(t *testing.T) {
	alice, bob := frontendtest.NewPerson(t, "alice"), frontendtest.NewPerson(t, "bob")
	g := start(t, alice.Block()+bob.Block()+console("m", `  rw = ["alice", "bob"]`+"\n"))
	g.waitUp("m")
	a, err := g.core.Attach(alice.ID("test"), "m", frontend.Write)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := g.core.Attach(bob.ID("test"), "m", frontend.Force)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Writer() || a.Writer() {
		t.Fatalf("bob's takeover: bob writer %v, alice writer %v", b.Writer(), a.Writer())
	}
	g.reload(alice.Block() + bob.Block() + console("m", `  rw = ["bob"]`+"\n"+`  ro = ["alice"]`+"\n"))
	waitNotice(t, a, "your access to m is now read-only")
	b.Close()
	if a.Writer() {
		t.Error("write access went back to alice, whom the reload made read-only")
	}
	if w := a.WriterName(); w != "" {
		t.Errorf("writer %q after bob left; want nobody", w)
	}
	_, err = a.Write([]byte("reboot\r"))
	mustDeny(t, "typing", err)
}

// A viewer removed from a console's ro list is cut off at once, with a
// cause that says why, and is no longer in who; the console is then gone
// for them.
func TestReloadRemovesViewer(t *testing.T) {
	alice, bob := frontendtest.NewPerson(t, "alice"), frontendtest.NewPerson(t, "bob")
	users := alice.Block() + bob.Block()
	g := start(t, users+console("m", `  rw = ["alice"]`+"\n"+`  ro = ["bob"]`+"\n"))
	s, err := g.core.Attach(bob.ID("test"), "m", frontend.Watch)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	g.reload(users + console("m", `  rw = ["alice"]`+"\n"))
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("bob still watching after his access was removed")
	}
	if !errors.Is(s.Cause(), frontend.ErrRevoked) || !strings.Contains(s.Cause().Error(), "bob may no longer use m") {
		t.Errorf("cut off with %v", s.Cause())
	}
	who, err := g.core.Who(alice.ID("test"), "m")
	if err != nil {
		t.Fatal(err)
	}
	for _, ci := range who {
		if ci.Who == "bob" {
			t.Error("bob still in who")
		}
	}
	if _, err := g.core.Attach(bob.ID("test"), "m", frontend.Watch); !errors.Is(err, frontend.ErrNoConsole) {
		t.Errorf("bob attaching again: %v", err)
	}
	if !strings.Contains(g.audit.String(), `"user":"bob","key":"`+bob.ID("test").Key) ||
		!strings.Contains(g.audit.String(), `"action":"revoke"`) {
		t.Errorf("revocation not audited:\n%s", g.audit)
	}
}

// A user deleted from the configuration, or whose key was removed, may do
// nothing at all on a session opened before: cut off, and every action
// refused, even on a console open to every user.
func TestReloadRemovesUserAndKey(t *testing.T) {
	alice, bob, spare := frontendtest.NewPerson(t, "alice"), frontendtest.NewPerson(t, "bob"), frontendtest.NewPerson(t, "spare")
	g := start(t, alice.Block(spare.Pub)+bob.Block()+console("open", ""))
	g.waitUp("open")
	aliceSpare := alice.ID("test")
	aliceSpare.Key = gossh.FingerprintSHA256(spare.Pub)
	sa, err := g.core.Attach(aliceSpare, "open", frontend.Watch)
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	sb, err := g.core.Attach(bob.ID("test"), "open", frontend.Write)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()

	g.reload(alice.Block() + console("open", "")) // bob deleted, alice's spare key removed
	for who, s := range map[string]*frontend.Session{"bob": sb, "alice (removed key)": sa} {
		select {
		case <-s.Done():
			if !errors.Is(s.Cause(), frontend.ErrRevoked) {
				t.Errorf("%s cut off with %v", who, s.Cause())
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s still attached", who)
		}
	}
	if err := g.core.Stands(bob.ID("test")); err == nil || !strings.Contains(err.Error(), "no longer in the configuration") {
		t.Errorf("bob stands: %v", err)
	}
	if err := g.core.Stands(aliceSpare); err == nil || !strings.Contains(err.Error(), "is no longer configured for alice") {
		t.Errorf("alice with her removed key stands: %v", err)
	}
	if err := g.core.Stands(alice.ID("test")); err != nil {
		t.Errorf("alice with her remaining key: %v", err)
	}
	_, err = sb.Write([]byte("x"))
	mustDeny(t, "bob typing", err)
	_, err = sb.TakeWrite(false)
	mustDeny(t, "bob taking write access", err)
	if _, err := g.core.Attach(bob.ID("test"), "open", frontend.Write); !errors.Is(err, frontend.ErrNoConsole) {
		t.Errorf("bob attaching: %v", err)
	}
	if l := g.core.List(bob.ID("test")); len(l) != 0 {
		t.Errorf("bob lists %v", l)
	}
	_, err = g.core.Reload(bob.ID("test"))
	mustDeny(t, "bob reloading", err)
}

// A log follow ends when a reload takes the console away from its reader.
func TestReloadEndsLogFollow(t *testing.T) {
	alice, bob := frontendtest.NewPerson(t, "alice"), frontendtest.NewPerson(t, "bob")
	users := alice.Block() + bob.Block()
	g := start(t, users+console("m", `  rw = ["alice"]`+"\n"+`  ro = ["bob"]`+"\n"))
	g.waitUp("m")
	done := make(chan error, 1)
	var out testharness.Buffer
	go func() { done <- g.core.Logs(context.Background(), bob.ID("test"), []string{"m", "--follow"}, &out) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "console up") { // following
		if time.Now().After(deadline) {
			t.Fatalf("no output from logs --follow: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	g.reload(users + console("m", `  rw = ["alice"]`+"\n"))
	select {
	case err := <-done:
		if !errors.Is(err, frontend.ErrRevoked) {
			t.Errorf("follow ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bob still follows m's log after his access was removed")
	}
}
