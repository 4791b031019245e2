package frontend_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"consoled/frontend"
	"consoled/frontend/frontendtest"
	"consoled/internal/testharness"
	"consoled/panics"
	"consoled/registry"
)

// Crashes and Activity show only consoles the user may see; Activity adds
// up the day's output, its ups and downs, and its crashes.
func TestCrashesAndActivity(t *testing.T) {
	alice, bob := frontendtest.NewPerson(t, "alice"), frontendtest.NewPerson(t, "bob")
	g := &gateway{t: t, dir: t.TempDir(), audit: &testharness.Buffer{}}
	cfg := g.parse(alice.Block() + bob.Block() + console("c1", "  rw = [\"alice\", \"bob\"]\n") + console("c2", "  rw = [\"bob\"]\n"))
	g.reg = registry.New(cfg, quiet())
	if _, err := g.reg.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.reg.StopAll(errors.New("test over")) })
	store := panics.NewStore(filepath.Join(g.dir, "panics.jsonl"))
	now := time.Now().UTC()
	store.Add(panics.Event{Console: "c1", Time: now.Add(-2 * time.Hour), Headline: "Kernel panic - c1"})
	store.Add(panics.Event{Console: "c2", Time: now.Add(-time.Hour), Headline: "Kernel panic - c2"})
	core := frontend.New(frontend.Options{Consoles: g.reg, Logger: quiet(), LogDir: cfg.LogDir, Panics: store,
		Policy: frontend.PolicyFrom(cfg)})
	g.waitUp("c1")

	evs, err := core.Crashes(alice.ID("test"), time.Time{})
	if err != nil || len(evs) != 1 || evs[0].Console != "c1" {
		t.Errorf("alice's crashes: %v %v", evs, err)
	}
	if evs, _ := core.Crashes(bob.ID("test"), time.Time{}); len(evs) != 2 || evs[0].Console != "c2" {
		t.Errorf("bob's crashes, newest first: %v", evs)
	}
	if _, err := core.Activity(context.Background(), alice.ID("test"), "c2", now.Add(-24*time.Hour), now, 24); !errors.Is(err, frontend.ErrNoConsole) {
		t.Errorf("alice's activity of c2: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		end := time.Now().Add(time.Second)
		a, err := core.Activity(context.Background(), alice.ID("test"), "c1", end.Add(-24*time.Hour), end, 24)
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, b := range a.Bytes {
			total += b
		}
		if total > 0 && a.Bytes[23] == total && len(a.Periods) == 1 && a.Periods[0].Up && len(a.Crashes) == 1 {
			break // all of it in the last hour; the console came up; the crash is there
		}
		if time.Now().After(deadline) {
			t.Fatalf("activity of c1: %+v", a)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
