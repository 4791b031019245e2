package config

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Cluster is the cluster block: this gateway's place in a cluster of
// gateways that share one namespace of consoles through etcd. Nil when
// consoled runs alone.
type Cluster struct {
	Gateway   string   // this gateway's name (the -gateway flag overrides it)
	Advertise string   // host:port where the other gateways reach this one's SSH listener ("": listen's)
	Etcd      []string // etcd v3 endpoints, e.g. "https://10.0.0.9:2379"
	TLS       *EtcdTLS // nil: plain connections
	// LeaseTTL is the gateway's etcd lease: a dead gateway's consoles
	// move after about this long; a gateway cut off from etcd stops its
	// movable consoles after half of it.
	LeaseTTL time.Duration
}

// EtcdTLS is how to reach etcd over TLS (PEM files).
type EtcdTLS struct {
	CA, Cert, Key string
}

// DefaultLeaseTTL is the gateways' lease TTL unless lease_ttl says otherwise.
const DefaultLeaseTTL = 10 * time.Second

var (
	clusterSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "gateway"}, {Name: "advertise"},
			{Name: "etcd", Required: true}, {Name: "lease_ttl"}},
		Blocks: []hcl.BlockHeaderSchema{{Type: "etcd_tls"}},
	}
	etcdTLSSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "ca"}, {Name: "cert"}, {Name: "key"}}}
)

// cluster reads the cluster block.
func (p *parser) cluster(cfg *Config, b *hcl.Block) {
	if cfg.Cluster != nil {
		p.errorf(b.DefRange, "Duplicate cluster block", "a configuration has at most one cluster block")
		return
	}
	c := &Cluster{LeaseTTL: DefaultLeaseTTL}
	cfg.Cluster = c
	content, diags := b.Body.Content(clusterSchema)
	p.diags = append(p.diags, diags...)
	if content == nil {
		return
	}
	for name, a := range content.Attributes {
		switch name {
		case "gateway":
			p.str(a.Expr, &c.Gateway)
			if !ValidName(c.Gateway) {
				p.errorf(a.Expr.Range(), "Invalid gateway name", "gateway %q: 1 to 64 letters, digits, '.', '-' and '_', starting with a letter or digit", c.Gateway)
			}
		case "advertise":
			p.str(a.Expr, &c.Advertise)
			p.checkAddress(a.Expr.Range(), "advertise", c.Advertise, dialPort, "tcp")
		case "etcd":
			p.strList(a.Expr, &c.Etcd)
			if len(c.Etcd) == 0 {
				p.errorf(a.Expr.Range(), "No etcd endpoint", "etcd needs at least one endpoint, e.g. [\"https://10.0.0.9:2379\"]")
			}
		case "lease_ttl":
			var s string
			p.str(a.Expr, &s)
			d, err := time.ParseDuration(s)
			if err != nil || d < 2*time.Second || d > 5*time.Minute {
				p.errorf(a.Expr.Range(), "Invalid lease_ttl", "lease_ttl %q: want a duration from 2s to 5m, e.g. \"10s\"", s)
				continue
			}
			c.LeaseTTL = d
		}
	}
	for _, blk := range content.Blocks {
		t := &EtcdTLS{}
		tc, d := blk.Body.Content(etcdTLSSchema)
		p.diags = append(p.diags, d...)
		for name, a := range tc.Attributes {
			var v string
			p.str(a.Expr, &v)
			switch name {
			case "ca":
				t.CA = p.path(v)
			case "cert":
				t.Cert = p.path(v)
			case "key":
				t.Key = p.path(v)
			}
		}
		if (t.Cert == "") != (t.Key == "") {
			p.errorf(blk.DefRange, "Incomplete etcd_tls", "cert and key go together")
		}
		c.TLS = t
	}
}

// checkPlacement: a console pinned with gateway = needs a cluster, and in
// a cluster a serial console must be pinned (its line is plugged into one
// gateway).
func (p *parser) checkPlacement(cfg *Config, consoles, gateways map[string]hcl.Range) {
	for _, c := range cfg.Consoles {
		rng, pinned := gateways[c.Name]
		switch {
		case pinned && cfg.Cluster == nil:
			p.errorf(rng, "Gateway without a cluster", "console %q names gateway %q, but there is no cluster block", c.Name, c.Gateway)
		case pinned && !ValidName(c.Gateway):
			p.errorf(rng, "Invalid gateway name", "console %q: gateway %q: 1 to 64 letters, digits, '.', '-' and '_'", c.Name, c.Gateway)
		case !pinned && cfg.Cluster != nil && c.Serial != nil:
			p.errorf(consoles[c.Name], "Serial console not pinned", "console %q is a serial line: in a cluster it needs gateway = \"...\", the gateway it is plugged into", c.Name)
		}
	}
}

// Gateway says whether cfg is a cluster: this gateway's name, or "".
func (cfg *Config) Gateway() string {
	if cfg.Cluster == nil {
		return ""
	}
	return cfg.Cluster.Gateway
}

// gatewayAttr reads a console's gateway attribute, if it has one.
func (p *parser) gatewayAttr(b *hcl.Block, c *Console) (hcl.Range, bool) {
	content, _, _ := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "gateway"}}})
	a, ok := content.Attributes["gateway"]
	if !ok {
		return hcl.Range{}, false
	}
	p.str(a.Expr, &c.Gateway)
	return a.Expr.Range(), true
}
