package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
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

	link, err := core.WebLink(frontend.Identity{User: "alice", Via: "test"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := resp.Cookies()[0].Value
	req, _ := http.NewRequest("GET", hs.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" content="([^"]+)"`).FindSubmatch(page)[1]
	dial := func() *websocket.Conn {
		h := http.Header{"Cookie": {cookieName + "=" + cookie}, "Origin": {hs.URL}}
		c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(hs.URL, "http")+"/ws/console/f1?spy=1&csrf="+string(csrf),
			&websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadLimit(-1)
		return c
	}
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
