package registry

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// here is a placement the test steers (package cluster is the real one,
// tested on a real etcd; this checks what the registry does with answers).
type here struct {
	mu sync.Mutex
	on map[string]bool
}

func (h *here) RunsHere(name string) bool { h.mu.Lock(); defer h.mu.Unlock(); return h.on[name] }
func (h *here) Arrival(name string) string {
	return "held by gateway gw2: taken over from gw1, which left the cluster"
}
func (h *here) Departure(name string) string { return "gateway gw2 handed the console over to gw3" }
func (h *here) set(on map[string]bool)       { h.mu.Lock(); h.on = on; h.mu.Unlock() }

func TestPlacementRunsOnlyWhatIsHere(t *testing.T) {
	dir := t.TempDir()
	cfg := parse(t, dir, `
console "a" {
  demo {}
}
console "b" {
  demo {}
}
`)
	r := New(cfg, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	p := &here{on: map[string]bool{"a": true}}
	r.SetPlacement(p)
	if _, err := r.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	defer r.StopAll(errors.New("test over"))
	if _, ok := r.Console("b"); ok {
		t.Fatal("b runs although the placement puts it elsewhere")
	}
	a, ok := r.Console("a")
	if !ok {
		t.Fatal("a does not run")
	}
	cl := a.Attach("alice", "test", false)
	p.set(map[string]bool{"b": true})
	if err := r.Reconcile(); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Console("a"); ok {
		t.Error("a still runs after moving away")
	}
	if _, ok := r.Console("b"); !ok {
		t.Error("b does not run after moving here")
	}
	select {
	case <-cl.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a's client was not cut off")
	}
	var moved *MovedError
	if !errors.As(cl.Cause(), &moved) || !strings.Contains(moved.Error(), "handed the console over to gw3") {
		t.Errorf("a's client was told %v", cl.Cause())
	}
	for name, want := range map[string]string{"a": "console down: gateway gw2 handed the console over to gw3",
		"b": "held by gateway gw2: taken over from gw1"} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, _ := os.ReadFile(filepath.Join(dir, "logs", name+".log"))
			if strings.Contains(string(b), want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s.log lacks %q:\n%s", name, want, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
