package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"consoled/backend"
	"consoled/frontend"
	"consoled/logstore"
	"consoled/mux"
)

// flood is a machine that prints 4 MiB/s.
type flood struct{ written atomic.Int64 }

type floodConn struct{ net.Conn }

func (floodConn) Break() error { return nil }

func (f *flood) Kind() string { return "flood" }
func (f *flood) Dial(ctx context.Context) (backend.Conn, error) {
	a, b := net.Pipe()
	go io.Copy(io.Discard, b)
	go func() {
		chunk := []byte(strings.Repeat("0123456789abcdef", 2048))
		tick := time.NewTicker(8 * time.Millisecond)
		defer tick.Stop()
		for range tick.C {
			n, err := b.Write(chunk)
			f.written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	return floodConn{a}, nil
}

type oneConsole struct{ c *mux.Console }

func (o oneConsole) Console(name string) (*mux.Console, bool) { return o.c, name == o.c.Name() }
func (o oneConsole) Consoles() []*mux.Console                 { return []*mux.Console{o.c} }

// A browser that stops reading is cut off by the same bounded queue as an
// SSH viewer: the machine keeps printing at full speed and a browser that
// reads keeps getting its output.
func TestStalledBrowserIsCutOff(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	lg, err := logstore.Open(t.TempDir(), "f1", logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := &flood{}
	con := mux.New(mux.Config{Name: "f1", Dialer: m, Log: lg, Logger: quiet, StallAfter: 500 * time.Millisecond, ClientBuffer: 64 << 20})
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	go func() { con.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(io.EOF); <-done; lg.Close() })
	core := frontend.New(frontend.Options{Consoles: oneConsole{con}, Logger: quiet})
	srv := New(Options{Core: core, Logger: quiet})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	srv.base = hs.URL

	cookie, csrf := logIn(t, core, hs, frontend.Identity{User: "alice", Via: "test"}, time.Time{})
	dial := func() *websocket.Conn { return dialTerminal(t, hs, cookie, csrf, "f1", "spy=1&") }
	stalled, reader := dial(), dial()
	defer stalled.CloseNow()
	defer reader.CloseNow()
	var got atomic.Int64
	go func() {
		for {
			_, p, err := reader.Read(context.Background())
			if err != nil {
				return
			}
			got.Add(int64(len(p)))
		}
	}()
	waitUntil(t, "the stalled browser cut off", func() bool {
		b, _ := os.ReadFile(lg.Path())
		return strings.Count(string(b), "alice attached ro") == 2 && strings.Contains(string(b), "alice cut off: output was not being read") &&
			con.Status().Viewers == 1
	})
	before, printed := got.Load(), m.written.Load()
	waitUntil(t, "more output for the reading browser", func() bool {
		return got.Load() > before+4<<20 && m.written.Load() > printed+4<<20
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
