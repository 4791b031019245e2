package frontend_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"consoled/consoleset"
	"consoled/frontend"
	"consoled/frontend/frontendtest"
	"consoled/internal/testharness"
)

// A set narrows silently to the consoles its user may see; tags come from
// the config and change with a reload; plain names the user cannot see are
// kept, and acting on them answers "no such console".
func TestSelectNarrowsToVisible(t *testing.T) {
	alice, bob := frontendtest.NewPerson(t, "alice"), frontendtest.NewPerson(t, "bob")
	users := alice.Block() + bob.Block()
	src := users +
		console("web01", "  tags = [\"rack12\"]\n") +
		console("web02", "  tags = [\"rack12\"]\n  rw = [\"alice\"]\n") +
		console("web03", "  tags = [\"rack13\"]\n  ro = [\"bob\"]\n  rw = [\"alice\"]\n") +
		console("db01", "  tags = [\"rack12\"]\n")
	g := start(t, src)
	for _, tc := range []struct {
		who  frontendtest.Person
		set  string
		want string
	}{
		{alice, "web*", "web01 web02 web03"},
		{bob, "web*", "web01 web03"}, // web02 is not bob's
		{bob, "@rack12", "db01 web01"},
		{alice, "@rack12,-db01", "web01 web02"},
		{alice, "@rack12&web*", "web01 web02"},
		{bob, "web[01-03],web02", "web01 web02 web03"}, // named: kept, for "no such console"
		{alice, "web01,nosuch", "nosuch web01"},
	} {
		got, err := g.core.Select(tc.who.ID("test"), tc.set)
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("%s: Select(%q) = %v, %v; want %s", tc.who.Name, tc.set, got, err, tc.want)
		}
	}
	if _, err := g.core.Select(bob.ID("test"), "web02&@rack12"); !errors.Is(err, frontend.ErrNoMatch) {
		t.Errorf("a set of nothing bob may see: %v", err)
	}
	if _, err := g.core.Select(bob.ID("test"), "web[2-1]"); !errors.Is(err, consoleset.ErrSyntax) {
		t.Errorf("bad syntax: %v", err)
	}
	// Acting per console: a console bob may only watch is refused, one he
	// cannot see does not exist.
	names, _ := g.core.Select(bob.ID("test"), "web*,web02")
	for _, n := range names {
		g.waitUp(n)
	}
	res := frontend.Each(context.Background(), names, func(ctx context.Context, n string) (string, error) {
		return "", g.core.Send(bob.ID("test"), n, []byte("x"), false)
	})
	if res[0].Err != nil || !errors.Is(res[1].Err, frontend.ErrNoConsole) || !errors.Is(res[2].Err, frontend.ErrDenied) {
		t.Errorf("send as bob: %+v", res)
	}
	if f := frontend.Failed(res); strings.Join(f, " ") != "web02 web03" {
		t.Errorf("failed: %v", f)
	}
	if a := g.audit.String(); !strings.Contains(a, `"console":"web03","action":"send","result":"refused: read-only access"`) {
		t.Errorf("refusal not audited:\n%s", a)
	}

	// A reload retags.
	g.reload(strings.Replace(src, `tags = ["rack13"]`, `tags = ["rack12"]`, 1))
	if got, _ := g.core.Select(bob.ID("test"), "@rack12"); strings.Join(got, " ") != "db01 web01 web03" {
		t.Errorf("after retagging: %v", got)
	}
}

// Lines of many writers share one output whole: never mixed within a line.
func TestLineWriter(t *testing.T) {
	var mu sync.Mutex
	var out strings.Builder
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b", "c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lw := &frontend.LineWriter{W: &out, Mu: &mu, Prefix: name + ": "}
			for i := 0; i < 200; i++ {
				lw.Write([]byte("first half "))
				lw.Write([]byte(name + " second half\nand"))
				lw.Write([]byte(" more " + name + "\n"))
			}
			lw.Write([]byte("open " + name))
			lw.Flush()
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3*401 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		p, rest, _ := strings.Cut(l, ": ")
		if rest != "first half "+p+" second half" && rest != "and more "+p && rest != "open "+p {
			t.Fatalf("line mixed: %q", l)
		}
	}
}

// logs --follow over a set: every console at once, each line prefixed
// with its console's name, until the client goes.
func TestLogsFollowSet(t *testing.T) {
	alice := frontendtest.NewPerson(t, "alice")
	g := start(t, alice.Block()+console("web1", "")+console("web2", "")+console("db1", ""))
	for _, n := range []string{"web1", "web2"} {
		g.waitUp(n)
		waitLog(t, g, n, ":~# ")
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &testharness.Buffer{}
	done := make(chan error, 1)
	go func() { done <- g.core.Logs(ctx, alice.ID("test"), []string{"web*", "--follow"}, out) }()
	for _, n := range []string{"web1", "web2", "db1"} {
		if err := g.core.Send(alice.ID("test"), n, []byte("echo followed-"+n+"\r"), false); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "web1: web1:~# echo followed-web1") || !strings.Contains(out.String(), "web2: web2:~# echo followed-web2") {
		if time.Now().After(deadline) {
			t.Fatalf("follow of web*:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("follow ended with %v", err)
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(l, "web1: ") && !strings.HasPrefix(l, "web2: ") {
			t.Errorf("a line without its console's name: %q", l)
		}
	}
	if strings.Contains(out.String(), "db1") {
		t.Errorf("db1 is not in web*:\n%s", out)
	}
}

// waitLog waits for console name's log to hold text.
func waitLog(t *testing.T, g *gateway, name, text string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(g.dir, "logs", name+".log"))
		if strings.Contains(string(b), text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s.log has no %q:\n%s", name, text, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
