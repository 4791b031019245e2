package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/config"
	"consoled/frontend/sshd"
	"consoled/internal/testharness"
	"consoled/registry"
)

func TestClusterFlags(t *testing.T) {
	cluster := func(gw, adv string) *config.Config {
		return &config.Config{Listen: "10.0.0.1:2222", Cluster: &config.Cluster{Gateway: gw, Advertise: adv}}
	}
	for _, tc := range []struct {
		name          string
		cfg           *config.Config
		flags         clusterFlags
		gw, adv, fail string
	}{
		{"alone", &config.Config{Listen: "127.0.0.1:2222"}, clusterFlags{}, "", "", ""},
		{"flag without cluster", &config.Config{}, clusterFlags{gateway: "gw1"}, "", "", "no cluster block"},
		{"flag names it", cluster("", ""), clusterFlags{gateway: "gw2"}, "gw2", "10.0.0.1:2222", ""},
		{"flag overrides", cluster("gw1", "10.9.9.9:22"), clusterFlags{gateway: "gw3", advertise: "10.0.0.3:22"}, "gw3", "10.0.0.3:22", ""},
		{"no name", cluster("", ""), clusterFlags{}, "", "", "has no name"},
		{"bad name", cluster("", ""), clusterFlags{gateway: "gw 1"}, "", "", "-gateway"},
		{"unspecified listen", &config.Config{Listen: "0.0.0.0:2222", Cluster: &config.Cluster{Gateway: "gw1"}}, clusterFlags{}, "", "", "no advertise address"},
		{"port 0: the listener's", &config.Config{Listen: "127.0.0.1:0", Cluster: &config.Cluster{Gateway: "gw1"}}, clusterFlags{}, "gw1", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.flags.apply(tc.cfg)
			switch {
			case tc.fail != "":
				if err == nil || !strings.Contains(err.Error(), tc.fail) {
					t.Errorf("want an error with %q, got %v", tc.fail, err)
				}
			case err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.cfg.Cluster != nil && (tc.cfg.Cluster.Gateway != tc.gw || tc.cfg.Cluster.Advertise != tc.adv):
				t.Errorf("got gateway %q advertise %q, want %q %q", tc.cfg.Cluster.Gateway, tc.cfg.Cluster.Advertise, tc.gw, tc.adv)
			}
		})
	}
}

// A gateway reaches an etcd that serves TLS and asks for a client
// certificate, with the cluster block's etcd_tls.
func TestClusterOverTLS(t *testing.T) {
	files := testharness.EtcdTLS(t)
	etcd := testharness.StartEtcd(t, 1, files.ServeTLS)
	dir := t.TempDir()
	src := fmt.Sprintf(`log_dir = "logs"
user "alice" {
  keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEgCPFGVvlyvFJbiHL8NaMdGfOJ1RsAMZHfz7wg7RrOo alice"]
}
cluster {
  gateway   = "gw1"
  advertise = "127.0.0.1:2222"
  etcd      = [%q]
  etcd_tls {
    ca   = %q
    cert = %q
    key  = %q
  }
}
console "m1" {
  demo {}
}
`, etcd.Endpoints[0], files.CA, files.ClientCert, files.ClientKey)
	cfg, diags := config.Parse([]byte(src), "c.hcl", dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	signer, err := sshd.LoadOrCreateHostKey(filepath.Join(dir, "host_key"))
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(cfg, logger)
	n, err := startCluster(cfg, signer, reg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer n.stop()
	if _, err := reg.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, ok := reg.Console("m1"); ok && n.Live() && n.Members() == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not live over TLS (live %v, members %d)", n.Live(), n.Members())
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.quiesce()
	reg.StopAll(errors.New("test over"))
}
