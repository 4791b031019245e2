package node

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"consoled/config"
	"consoled/frontend/sshd"
	"consoled/internal/testharness"
	"consoled/registry"
)

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
	n, err := Start(cfg, signer, reg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
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
	n.Quiesce()
	reg.StopAll(errors.New("test over"))
}
