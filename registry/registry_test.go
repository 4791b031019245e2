package registry

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"consoled/config"
	"consoled/mux"
)

const users = `user "alice" { keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEgCPFGVvlyvFJbiHL8NaMdGfOJ1RsAMZHfz7wg7RrOo alice@laptop"] }
user "bob" { keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeI0EZGAPpIOt6a0Dr3V1gUvbKHSvQW3fmLGP7UUtzx bob@laptop"] }
`

// parse builds a configuration from HCL text, logging to dir/logs.
func parse(t *testing.T, dir, src string) *config.Config {
	t.Helper()
	cfg, diags := config.Parse([]byte(`log_dir = "logs"
`+users+src), "test.hcl", dir)
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	return cfg
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	old := parse(t, dir, `
console "gone" {
  demo {}
}
console "same" {
  demo {}
}
console "acl" {
  demo {}
  rw = ["alice"]
}
console "log" {
  demo {}
}
console "kind" {
  demo {}
}
`)
	next := parse(t, dir, `
console "same" {
  demo {}
}
console "acl" {
  demo {}
  ro = ["alice"]
  rw = ["bob"]
  tags = ["rack12"] # tags apply without a restart, as access lists do
}
console "log" {
  demo {}
  log { max_size = "1MiB" }
}
console "kind" {
  exec { command = ["cat"] }
}
console "new" {
  demo {}
}
`)
	running := map[string]config.Console{}
	for _, c := range old.Consoles {
		running[c.Name] = c
	}
	got := Compare(running, next.Consoles)
	want := Diff{Added: []string{"new"}, Removed: []string{"gone"}, Changed: []string{"kind", "log"},
		Unchanged: []string{"acl", "same"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Compare = %+v, want %+v", got, want)
	}
	if s := got.String(); s != "consoles: 1 added [new], 1 removed [gone], 2 changed [kind log], 2 unchanged" {
		t.Errorf("summary %q", s)
	}
	if d := Compare(nil, nil); d.String() != "consoles: 0 added [], 0 removed [], 0 changed [], 0 unchanged" {
		t.Errorf("empty diff %q", d)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(discard{}, nil)) }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// start runs a registry on cfg, stopped at the end of the test.
func start(t *testing.T, cfg *config.Config) *Registry {
	t.Helper()
	r := New(cfg, quiet())
	if _, err := r.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.StopAll(errors.New("test over")) })
	return r
}

func console(t *testing.T, r *Registry, name string) *mux.Console {
	t.Helper()
	c, ok := r.Console(name)
	if !ok {
		t.Fatalf("console %s not running", name)
	}
	return c
}

// causeOf waits for cl to be detached and returns why.
func causeOf(t *testing.T, cl *mux.Client) error {
	t.Helper()
	select {
	case <-cl.Done():
		return cl.Cause()
	case <-time.After(10 * time.Second):
		t.Fatal("client still attached")
		return nil
	}
}

// What each kind of change does to a running console and its clients.
func TestApplyEachKindOfChange(t *testing.T) {
	dir := t.TempDir()
	r := start(t, parse(t, dir, `
console "gone" {
  demo {}
}
console "same" {
  demo {}
}
console "acl" {
  demo {}
}
console "log" {
  demo {}
}
`))
	if n := len(r.Consoles()); n != 4 {
		t.Fatalf("%d consoles running, want 4", n)
	}
	before := map[string]*mux.Console{}
	clients := map[string]*mux.Client{}
	for _, name := range []string{"gone", "same", "acl", "log"} {
		before[name] = console(t, r, name)
		clients[name] = before[name].Attach("alice", "test", false)
	}

	d, err := r.Apply(parse(t, dir, `
console "same" {
  demo {}
}
console "acl" {
  demo {}
  ro = ["bob"]
}
console "log" {
  demo {}
  log { max_size = "1MiB" }
}
console "new" {
  demo {}
}
`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "consoles: 1 added [new], 1 removed [gone], 1 changed [log], 2 unchanged"; d.String() != want {
		t.Errorf("diff %q, want %q", d, want)
	}

	// Removed: stopped, its clients told why, gone from the registry.
	if err := causeOf(t, clients["gone"]); !errors.Is(err, ErrRemoved) {
		t.Errorf("client of a removed console cut off with %v, want %v", err, ErrRemoved)
	}
	if _, ok := r.Console("gone"); ok {
		t.Error("removed console still listed")
	}
	// Changed: restarted (a new console), its clients told to attach again.
	if err := causeOf(t, clients["log"]); !errors.Is(err, ErrChanged) {
		t.Errorf("client of a changed console cut off with %v, want %v", err, ErrChanged)
	}
	if console(t, r, "log") == before["log"] {
		t.Error("changed console not restarted")
	}
	// Unchanged, even with other access lists: same console, client kept.
	for _, name := range []string{"same", "acl"} {
		if console(t, r, name) != before[name] {
			t.Errorf("unchanged console %s restarted", name)
		}
		select {
		case <-clients[name].Done():
			t.Errorf("client of unchanged console %s cut off: %v", name, clients[name].Cause())
		default:
		}
	}
	// Added: running, with its log.
	console(t, r, "new")
	if _, err := os.Stat(filepath.Join(dir, "logs", "new.log")); err != nil {
		t.Errorf("added console has no log: %v", err)
	}
	if n := len(r.Consoles()); n != 4 {
		t.Errorf("%d consoles running, want 4", n)
	}
}

// A reload that cannot be carried out whole changes nothing: a console it
// would add cannot open its log, so the one it would remove keeps running
// with its client.
func TestApplyAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	r := start(t, parse(t, dir, `console "old" {
  demo {}
}
`))
	old := console(t, r, "old")
	cl := old.Attach("alice", "test", false)
	// A directory where the new console's log file would be: Open fails.
	if err := os.MkdirAll(filepath.Join(dir, "logs", "new.log"), 0o750); err != nil {
		t.Fatal(err)
	}
	d, err := r.Apply(parse(t, dir, `console "new" {
  demo {}
}
`))
	if !errors.Is(err, ErrNotApplied) || !strings.Contains(err.Error(), "console new") {
		t.Fatalf("Apply error %v, want %v naming console new", err, ErrNotApplied)
	}
	if !reflect.DeepEqual(d, Diff{}) {
		t.Errorf("refused Apply reports %v applied", d)
	}
	if c, ok := r.Console("old"); !ok || c != old {
		t.Error("a refused reload stopped a running console")
	}
	if _, ok := r.Console("new"); ok {
		t.Error("a refused reload started a console")
	}
	select {
	case <-cl.Done():
		t.Errorf("a refused reload cut a client off: %v", cl.Cause())
	default:
	}
}

// log_dir cannot change under running consoles: the logs, the panic list
// and the logs command would disagree. The reload is refused whole.
func TestApplyRefusesLogDirChange(t *testing.T) {
	dir := t.TempDir()
	r := start(t, parse(t, dir, `console "a" {
  demo {}
}
`))
	a := console(t, r, "a")
	cfg, diags := config.Parse([]byte(`log_dir = "elsewhere"
`+users+`console "a" {
  demo {}
}
console "b" {
  demo {}
}
`), "test.hcl", dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, err := r.Apply(cfg)
	if !errors.Is(err, ErrNotApplied) || !strings.Contains(err.Error(), "log_dir") {
		t.Fatalf("Apply error %v, want a refusal naming log_dir", err)
	}
	if _, ok := r.Console("b"); ok {
		t.Error("console added despite the refusal")
	}
	if c, _ := r.Console("a"); c != a {
		t.Error("console restarted despite the refusal")
	}
	if _, err := os.Stat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Error("the new log_dir was created")
	}
}

// panic_patterns apply at once to every console, unchanged ones too (they
// are not restarted for it).
func TestApplyPanicPatternsToRunningConsoles(t *testing.T) {
	dir := t.TempDir()
	r := start(t, parse(t, dir, `console "d" {
  demo {}
}
`))
	d := console(t, r, "d")
	deadline := time.Now().Add(20 * time.Second)
	for d.Status().State != mux.StateUp {
		if time.Now().After(deadline) {
			t.Fatal("console d not up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cl := d.Attach("alice", "test", true)
	defer cl.Close()
	waitOutput(t, cl, "d:~# ") // booted: the demo machine takes keys
	diff, err := r.Apply(parse(t, dir, `panic_patterns = ["OURCRASH"]
console "d" {
  demo {}
}
`))
	if err != nil || len(diff.Unchanged) != 1 {
		t.Fatalf("Apply: %v %v", diff, err)
	}
	if c := console(t, r, "d"); c != d {
		t.Fatal("console d restarted for new panic_patterns")
	}
	if _, err := cl.Write([]byte("OURCRASH in the wild\r")); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for r.PanicCount("d") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a line matching the reloaded panic_patterns was not detected on an unchanged console")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitOutput reads cl's output until it contains want.
func waitOutput(t *testing.T, cl *mux.Client, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []byte
	for !strings.Contains(string(got), want) {
		items, err := cl.Next(ctx)
		if err != nil {
			t.Fatalf("no %q in the output %q: %v", want, got, err)
		}
		for _, it := range items {
			got = append(got, it.Data...)
		}
	}
}

// A running console holds no copy of its configuration: it points into
// the configuration in force, and after a reload into the new one (so
// the old one is not kept alive), also when it keeps running untouched.
func TestRunningConsolesPointIntoConfigInForce(t *testing.T) {
	dir := t.TempDir()
	cfg := parse(t, dir, "console \"a\" {\n  demo {}\n}\nconsole \"b\" {\n  demo {}\n}\n")
	r := start(t, cfg)
	a := console(t, r, "a")
	check := func(cfg *config.Config) {
		t.Helper()
		r.mu.RLock()
		defer r.mu.RUnlock()
		for i := range cfg.Consoles {
			c := &cfg.Consoles[i]
			if e := r.entries[c.Name]; e == nil || e.cfg != c {
				t.Errorf("console %s does not point at its configuration in force", c.Name)
			}
		}
	}
	check(cfg)
	next := parse(t, dir, "console \"a\" {\n  demo {}\n  rw = [\"alice\"]\n}\nconsole \"b\" {\n  demo {}\n}\n")
	d, err := r.Apply(next)
	if err != nil || !reflect.DeepEqual(d.Unchanged, []string{"a", "b"}) {
		t.Fatalf("reload: %v, %v; want a and b unchanged", d, err)
	}
	if console(t, r, "a") != a {
		t.Error("console a restarted for a new access list")
	}
	check(next)
}
