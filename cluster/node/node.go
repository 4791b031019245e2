// Package node is this gateway's part in a cluster: it joins the cluster a
// config describes (package cluster), makes the registry run only the
// consoles placed here, reconciling whenever placement may have changed,
// and answers the SSH server's forwarding questions (sshd.Cluster) and the
// metrics' cluster gauges.
package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	gossh "golang.org/x/crypto/ssh"

	"consoled/cluster"
	"consoled/config"
	"consoled/registry"
)

// Node is this gateway's part in a cluster: its membership (package
// cluster), the registry running what is placed here, and what the SSH
// server asks to forward (sshd.Cluster).
type Node struct {
	gw     *cluster.Gateway
	cli    *clientv3.Client
	reg    *registry.Registry
	logger *slog.Logger
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	forwarded atomic.Int64

	recMu    sync.Mutex // held while reconciling
	stopping bool       // guarded by recMu: shutting down, start nothing

	mu       sync.Mutex
	consoles map[string]bool
}

// Start joins the cluster cfg describes and makes reg run only the
// consoles placed here. Call before reg's first Apply.
func Start(cfg *config.Config, hostKey gossh.Signer, reg *registry.Registry, logger *slog.Logger) (*Node, error) {
	c := cfg.Cluster
	tlsCfg, err := etcdTLS(c.TLS)
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Etcd, DialTimeout: 5 * time.Second, TLS: tlsCfg,
		DialKeepAliveTime: c.LeaseTTL / 4, DialKeepAliveTimeout: c.LeaseTTL / 4, Logger: nil})
	if err != nil {
		return nil, fmt.Errorf("etcd client for %v: %w", c.Etcd, err)
	}
	n := &Node{cli: cli, reg: reg, logger: logger, kick: make(chan struct{}, 1), done: make(chan struct{})}
	n.gw = cluster.New(cluster.Options{Name: c.Gateway, Advertise: c.Advertise, Client: cli, TTL: c.LeaseTTL,
		HostKey: string(bytes.TrimSpace(gossh.MarshalAuthorizedKey(hostKey.PublicKey()))), Logger: logger,
		Changed: n.changed})
	n.SetConsoles(cfg)
	reg.SetPlacement(n.gw)
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go n.reconcile(ctx)
	go func() { defer close(n.done); n.gw.Run(ctx) }()
	logger.Info("cluster", "gateway", c.Gateway, "advertise", c.Advertise, "etcd", c.Etcd, "lease_ttl", c.LeaseTTL)
	return n, nil
}

// etcdTLS is the TLS of the etcd client, from the cluster block.
func etcdTLS(t *config.EtcdTLS) (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, fmt.Errorf("etcd_tls ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd_tls ca %s: no PEM certificate", t.CA)
		}
	}
	if t.Cert != "" {
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("etcd_tls cert/key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// changed is the cluster's signal that placement may differ: the
// registry reconciles on its own goroutine, never holding up the
// cluster's keep-alives.
func (n *Node) changed() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

func (n *Node) reconcile(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
			n.recMu.Lock()
			if !n.stopping {
				if err := n.reg.Reconcile(); err != nil {
					n.logger.Error("starting or stopping consoles for the cluster", "err", err)
				}
			}
			n.recMu.Unlock()
		}
	}
}

// SetConsoles tells the cluster what cfg configures (start and reload).
func (n *Node) SetConsoles(cfg *config.Config) {
	cs := make([]cluster.Console, 0, len(cfg.Consoles))
	names := map[string]bool{}
	for _, c := range cfg.Consoles {
		cs = append(cs, cluster.Console{Name: c.Name, Pinned: c.Gateway})
		names[c.Name] = true
	}
	n.mu.Lock()
	n.consoles = names
	n.mu.Unlock()
	n.gw.SetConsoles(cs)
}

// Quiesce stops following the cluster's placement (shutdown: the
// consoles are stopped next, and none may start again).
func (n *Node) Quiesce() {
	n.recMu.Lock()
	n.stopping = true
	n.recMu.Unlock()
}

// Stop leaves the cluster (revoking the lease, so the others take over at
// once); stop the consoles first.
func (n *Node) Stop() {
	n.cancel()
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
	}
	n.cli.Close()
}

// Self is this gateway's name.
func (n *Node) Self() string { return n.gw.Name() }

// Route says where console name runs (see sshd.Cluster).
func (n *Node) Route(name string) (here bool, gw, addr string, err error) {
	if _, ok := n.reg.Console(name); ok {
		return true, "", "", nil
	}
	n.mu.Lock()
	known := n.consoles[name]
	n.mu.Unlock()
	if !known {
		return true, "", "", nil
	}
	m, ok := n.gw.Holder(name)
	switch {
	case !ok && m.Name != "":
		return false, m.Name, "", fmt.Errorf("gateway %s unreachable", m.Name)
	case !ok:
		return false, "", "", errors.New("no live gateway")
	case m.Name == n.gw.Name() && !n.gw.Live():
		return false, m.Name, "", fmt.Errorf("gateway %s lost contact with etcd", m.Name)
	case m.Name == n.gw.Name():
		return false, m.Name, "", fmt.Errorf("starting on gateway %s", m.Name)
	}
	return false, m.Name, m.Advertise, nil
}

// IsGateway says whether key is the host key live gateway name published.
func (n *Node) IsGateway(name string, key gossh.PublicKey) bool {
	m, ok := n.gw.Member(name)
	if !ok || name == n.gw.Name() {
		return false
	}
	pub, _, _, _, err := gossh.ParseAuthorizedKey([]byte(m.HostKey))
	return err == nil && bytes.Equal(pub.Marshal(), key.Marshal())
}

// Peers are the other live gateways.
func (n *Node) Peers() map[string]string {
	out := map[string]string{}
	for _, m := range n.gw.Members() {
		if m.Name != n.gw.Name() {
			out[m.Name] = m.Advertise
		}
	}
	return out
}

// Consoles is every configured console.
func (n *Node) Consoles() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.consoles))
	for c := range n.consoles {
		out = append(out, c)
	}
	return out
}

// Forwarded counts forwarded sessions (for the metrics).
func (n *Node) Forwarded(delta int) { n.forwarded.Add(int64(delta)) }

// Members is how many gateways are live (metrics).
func (n *Node) Members() int { return len(n.gw.Members()) }

// Live says whether etcd keeps this gateway's lease alive (metrics, /healthz).
func (n *Node) Live() bool { return n.gw.Live() }

// Forwarding is how many sessions are forwarded through here now (metrics).
func (n *Node) Forwarding() int { return int(n.forwarded.Load()) }

// Fences is how many times this gateway fenced itself (metrics).
func (n *Node) Fences() int { return n.gw.Fences() }
