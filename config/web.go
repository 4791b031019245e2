package config

import (
	"net/url"

	"github.com/hashicorp/hcl/v2"
)

// Web is the web view: the web { ... } block. Without the block there is
// none (Config.Web is nil).
type Web struct {
	Listen  string // host:port to serve on
	TLSCert string // with TLSKey, serve HTTPS; both empty: plain HTTP
	TLSKey  string
	// BaseURL is what login links start with, e.g.
	// "https://console.example.net" behind a proxy (served at the root of
	// that host; an https one makes cookies Secure); empty: the listen
	// address itself.
	BaseURL string
}

var webSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "listen", Required: true}, {Name: "tls_cert"}, {Name: "tls_key"}, {Name: "base_url"},
}}

// web reads the web block.
func (p *parser) web(cfg *Config, blk *hcl.Block) {
	if cfg.Web != nil {
		p.errorf(blk.DefRange, "Duplicate web block", "only one web block is allowed")
		return
	}
	content, diags := blk.Body.Content(webSchema)
	p.diags = append(p.diags, diags...)
	w := &Web{}
	for name, a := range content.Attributes {
		switch name {
		case "listen":
			p.str(a.Expr, &w.Listen)
			p.checkAddress(a.Expr.Range(), "web listen", w.Listen, listenPort, "tcp")
		case "tls_cert":
			p.str(a.Expr, &w.TLSCert)
			w.TLSCert = p.path(w.TLSCert)
		case "tls_key":
			p.str(a.Expr, &w.TLSKey)
			w.TLSKey = p.path(w.TLSKey)
		case "base_url":
			p.str(a.Expr, &w.BaseURL)
			if u, err := url.Parse(w.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
				(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
				p.errorf(a.Expr.Range(), "Invalid URL", "base_url %q: want http(s)://host[:port] (the web view is served at the root of its host)", w.BaseURL)
			}
		}
	}
	if (w.TLSCert == "") != (w.TLSKey == "") {
		p.errorf(blk.DefRange, "Incomplete TLS settings", "give both tls_cert and tls_key, or neither (plain HTTP)")
	}
	cfg.Web = w
}
