package testharness

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// Etcd is a real etcd cluster on loopback, run inside the test process
// (go.etcd.io/etcd/server/v3/embed), stopped at the test's end.
type Etcd struct {
	Endpoints []string // client URLs, one per member
	servers   []*embed.Etcd
}

// StartEtcd starts an etcd cluster of n members on 127.0.0.1 and waits
// until it serves. Each option may change a member's configuration (e.g.
// TLSFiles.ServeTLS).
func StartEtcd(t testing.TB, n int, opts ...func(*embed.Config)) *Etcd {
	t.Helper()
	probe := embed.NewConfig()
	for _, o := range opts {
		o(probe)
	}
	scheme := "http://"
	if probe.ClientTLSInfo.CertFile != "" {
		scheme = "https://"
	}
	var peers, clients []string
	var held []net.Listener // held until all are picked, so no port comes twice
	for range n {
		peers = append(peers, "http://"+freePort(t, &held))
		clients = append(clients, scheme+freePort(t, &held))
	}
	for _, ln := range held {
		ln.Close()
	}
	var initial []string
	for i, p := range peers {
		initial = append(initial, fmt.Sprintf("e%d=%s", i, p))
	}
	e := &Etcd{Endpoints: clients}
	for i := range n {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("e%d", i)
		cfg.Dir = t.TempDir()
		cfg.LogLevel = "error"
		pu, _ := url.Parse(peers[i])
		cu, _ := url.Parse(clients[i])
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = "consoled-test"
		// Tests share 2 busy cores (and -race): a heartbeat a little late
		// must not start an election, which would hold up lease keep-alives.
		cfg.TickMs, cfg.ElectionMs = 100, 2500
		for _, o := range opts {
			o(cfg)
		}
		srv, err := embed.StartEtcd(cfg)
		if err != nil {
			e.Stop()
			t.Fatalf("starting etcd member %d: %v", i, err)
		}
		e.servers = append(e.servers, srv)
	}
	t.Cleanup(e.Stop)
	for i, srv := range e.servers {
		select {
		case <-srv.Server.ReadyNotify():
		case err := <-srv.Err():
			t.Fatalf("etcd member %d: %v", i, err)
		case <-time.After(60 * time.Second):
			t.Fatalf("etcd member %d not ready after 60s", i)
		}
	}
	return e
}

// Stop stops every member.
func (e *Etcd) Stop() {
	for _, s := range e.servers {
		s.Close()
	}
	e.servers = nil
}

func freePort(t testing.TB, held *[]net.Listener) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	*held = append(*held, ln)
	return ln.Addr().String()
}

// Proxy is a TCP relay on 127.0.0.1 in front of a peer. It counts the
// connections open through it (and the most at once), and Cut makes it a
// partition: bytes stop flowing both ways, but no socket is closed (a
// partitioned host keeps its sockets; a killed one would close them).
type Proxy struct {
	Addr   string // where to connect instead of the peer
	target string
	ln     net.Listener

	mu      sync.Mutex
	cut     bool
	open    int
	maxOpen int
	total   int
	conns   []net.Conn
	resume  chan struct{} // closed when a cut ends
	delay   time.Duration // added to every reply's way back (DelayReplies)
}

// StartProxy relays 127.0.0.1:random to target until the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, resume: make(chan struct{})}
	close(p.resume)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Close stops the relay and closes every connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	if p.cut {
		p.cut = false
		close(p.resume)
	}
}

// Cut stops every byte through the proxy until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.cut {
		p.cut = true
		p.resume = make(chan struct{})
	}
}

// Restore lets bytes flow again after Cut.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		p.cut = false
		close(p.resume)
	}
}

// DelayReplies makes every byte from the peer arrive d later than it
// would (a slow way back: latency, not a cut; order kept); 0 ends it.
func (p *Proxy) DelayReplies(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

func (p *Proxy) replyDelay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.delay
}

// Counts is how many connections are open now, the most ever open at
// once, and how many were made in all.
func (p *Proxy) Counts() (open, maxOpen, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open, p.maxOpen, p.total
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.relay(c)
	}
}

// gate blocks while the proxy is cut.
func (p *Proxy) gate() {
	p.mu.Lock()
	ch := p.resume
	p.mu.Unlock()
	<-ch
}

func (p *Proxy) relay(c net.Conn) {
	p.gate()
	up, err := net.DialTimeout("tcp", p.target, 10*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.open++
	p.total++
	p.maxOpen = max(p.maxOpen, p.open)
	p.conns = append(p.conns, c, up)
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.gate()
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go func() { // from the peer: through a queue, each chunk held until it is due
		type chunk struct {
			b   []byte
			due time.Time
		}
		q := make(chan chunk, 1024)
		go func() {
			defer close(q)
			buf := make([]byte, 32<<10)
			for {
				n, err := up.Read(buf)
				if n > 0 {
					q <- chunk{append([]byte(nil), buf[:n]...), time.Now().Add(p.replyDelay())}
				}
				if err != nil {
					return
				}
			}
		}()
		for ch := range q {
			time.Sleep(time.Until(ch.due))
			p.gate()
			if _, err := c.Write(ch.b); err != nil {
				up.Close()
				for range q {
				}
				break
			}
		}
		done <- struct{}{}
	}()
	<-done
	c.Close()
	up.Close()
	<-done
	p.mu.Lock()
	p.open--
	p.mu.Unlock()
}
