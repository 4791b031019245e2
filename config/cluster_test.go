package config

import (
	"strings"
	"testing"
	"time"
)

const clusterUsers = `user "alice" { keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice"] }
`

func TestClusterBlock(t *testing.T) {
	src := clusterUsers + `
cluster {
  gateway   = "gw1"
  advertise = "127.0.0.1:2222"
  etcd      = ["http://127.0.0.1:2379", "http://127.0.0.2:2379"]
  lease_ttl = "6s"
  etcd_tls {
    ca   = "ca.pem"
    cert = "c.pem"
    key  = "k.pem"
  }
}
console "web07" {
  gateway = "gw2"
  serial { device = "/dev/ttyUSB3" }
}
console "db01" {
  telnet { address = "127.0.0.1:4555" }
}
`
	cfg, diags := Parse([]byte(src), "c.hcl", "/etc/consoled")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c := cfg.Cluster
	if c == nil || c.Gateway != "gw1" || c.Advertise != "127.0.0.1:2222" || len(c.Etcd) != 2 || c.LeaseTTL != 6*time.Second {
		t.Fatalf("cluster: %+v", c)
	}
	if c.TLS == nil || c.TLS.CA != "/etc/consoled/ca.pem" || c.TLS.Key != "/etc/consoled/k.pem" {
		t.Errorf("etcd_tls: %+v", c.TLS)
	}
	if cfg.Consoles[0].Gateway != "gw2" || cfg.Consoles[1].Gateway != "" || cfg.Gateway() != "gw1" {
		t.Errorf("placement: %+v", cfg.Consoles)
	}
}

func TestNoClusterBlock(t *testing.T) {
	cfg, diags := Parse([]byte(clusterUsers+"console \"s\" {\n serial { device = \"/dev/ttyS0\" }\n}"), "c.hcl", "/")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if cfg.Cluster != nil || cfg.Gateway() != "" {
		t.Errorf("no cluster block, got %+v", cfg.Cluster)
	}
}

func TestClusterErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"pinned without cluster", `console "a" {
  gateway = "gw1"
  demo {}
}`, "c.hcl:2,13-18: Gateway without a cluster"},
		{"serial not pinned", `cluster {
  advertise = "127.0.0.1:1"
  etcd = ["http://127.0.0.1:2379"]
}
console "s" {
  serial { device = "/dev/ttyS0" }
}`, "c.hcl:5,9-12: Serial console not pinned"},
		{"no etcd", `cluster {
  advertise = "127.0.0.1:1"
  etcd = []
}`, "No etcd endpoint"},
		{"advertise port", `cluster {
  advertise = "127.0.0.1"
  etcd = ["http://127.0.0.1:2379"]
}`, "Invalid address"},
		{"bad ttl", `cluster {
  advertise = "127.0.0.1:1"
  etcd = ["http://127.0.0.1:2379"]
  lease_ttl = "1s"
}`, "Invalid lease_ttl"},
		{"bad gateway", `cluster {
  gateway = "gw 1"
  advertise = "127.0.0.1:1"
  etcd = ["http://127.0.0.1:2379"]
}`, "Invalid gateway name"},
		{"two blocks", `cluster {
  advertise = "127.0.0.1:1"
  etcd = ["http://127.0.0.1:2379"]
}
cluster {
  advertise = "127.0.0.1:1"
  etcd = ["http://127.0.0.1:2379"]
}`, "Duplicate cluster block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse([]byte(tc.src+"\n"+clusterUsers), "c.hcl", "/")
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) {
				t.Errorf("want %q, got %v", tc.want, diags)
			}
		})
	}
}
