package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestWebBlock(t *testing.T) {
	const console = "console \"c1\" {\n  demo {}\n}\n"
	cfg, diags := Parse([]byte(console), "t.hcl", "/etc/consoled")
	if diags.HasErrors() || cfg.Web != nil {
		t.Fatalf("no web block: web %+v, %v", cfg.Web, diags)
	}
	src := `web {
  listen   = "127.0.0.1:8080"
  tls_cert = "tls/cert.pem"
  tls_key  = "/abs/key.pem"
  base_url = "https://console.example.net"
}
` + console
	cfg, diags = Parse([]byte(src), "t.hcl", "/etc/consoled")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want := Web{Listen: "127.0.0.1:8080", TLSCert: filepath.Join("/etc/consoled", "tls/cert.pem"), TLSKey: "/abs/key.pem",
		BaseURL: "https://console.example.net"}
	if cfg.Web == nil || *cfg.Web != want {
		t.Errorf("web = %+v, want %+v", cfg.Web, want)
	}
	// `ssh console@gw web` prints a login link: no console may be named so.
	if _, diags := Parse([]byte("console \"Web\" {\n  demo {}\n}\n"), "t.hcl", "/"); !strings.Contains(diags.Error(), `Reserved console name; "Web" is a command`) {
		t.Errorf("a console named Web: %v", diags)
	}
	for _, tc := range []struct{ src, want string }{
		{`web {}`, `t.hcl:1,5-5: Missing required argument; The argument "listen" is required`},
		{`web { listen = "nowhere" }`, `t.hcl:1,16-25: Invalid address; web listen "nowhere": want host:port`},
		{"web {\nlisten = \":8080\"\ntls_cert = \"c.pem\"\n}", `t.hcl:1,1-4: Incomplete TLS settings; give both tls_cert and tls_key`},
		{"web {\nlisten = \":8080\"\nbase_url = \"console.example.net\"\n}", `t.hcl:3,12-33: Invalid URL; base_url "console.example.net": want http(s)://`},
		{"web {\nlisten = \":8080\"\nbase_url = \"https://example.net/consoles\"\n}", `Invalid URL; base_url "https://example.net/consoles": want http(s)://host[:port] (the web view is served at the root`},
		{"web { listen = \":1\" }\nweb { listen = \":2\" }", `t.hcl:2,1-4: Duplicate web block`},
		{"web {\nlisten = \":1\"\nport = 3\n}", `t.hcl:3,1-5: Unsupported argument`},
	} {
		_, diags := Parse([]byte(tc.src+"\n"+console), "t.hcl", "/etc/consoled")
		if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.src, diags, tc.want)
		}
	}
}
