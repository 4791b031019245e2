package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"consoled/cluster"
	"consoled/internal/testharness"
)

// gwCluster is three consoled gateways on a real etcd (3 members, in the
// test process), sharing one config: vm1 on the qemu guest's telnet port
// (through a proxy that counts connections) and db01 on ipmi_sim.
type gwCluster struct {
	t      *testing.T
	etcd   *testharness.Etcd
	telnet *testharness.Proxy
	bmc    *testharness.BMC
	guest  *guest
	gws    map[string]*daemon
	etcdPx map[string]*testharness.Proxy // each gateway's path to etcd
	dirs   map[string]string             // each gateway's directory (kept across a restart)
	alice  key
	bob    key
	cfg    string
	count  int // consoles configured
}

func startCluster(t *testing.T) *gwCluster {
	t.Helper()
	g := sharedGuest(t)
	c := &gwCluster{t: t, guest: g, etcd: testharness.StartEtcd(t, 3), telnet: testharness.StartProxy(t, fmt.Sprintf("127.0.0.1:%d", g.Port)),
		bmc: testharness.StartBMC(t), gws: map[string]*daemon{}, etcdPx: map[string]*testharness.Proxy{}, dirs: map[string]string{},
		alice: newKey(t, "alice"), bob: newKey(t, "bob"), count: 2}
	pw := filepath.Join(t.TempDir(), "db01.pw")
	os.WriteFile(pw, []byte(c.bmc.Pass+"\n"), 0o600)
	c.cfg = userBlock("alice", c.alice) + userBlock("bob", c.bob) + fmt.Sprintf(`
metrics_listen = "127.0.0.1:0"
console "vm1" {
  telnet { address = %q }
  rw = ["alice"]
  ro = ["bob"]
}
console "db01" {
  ipmi {
    address       = %q
    user          = %q
    password_file = %q
    steal         = true
  }
  rw = ["alice"]
  ro = ["bob"]
}
`, c.telnet.Addr, c.bmc.Addr, c.bmc.User, pw)
	for _, name := range []string{"gw1", "gw2", "gw3"} {
		c.start(name)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"gw1", "gw2", "gw3"} {
				t.Logf("%s:\n%s", name, c.gws[name].stderr)
			}
		}
	})
	return c
}

// start runs gateway name, reaching etcd through a proxy of its own.
func (c *gwCluster) start(name string) *daemon {
	c.t.Helper()
	var eps []string
	px := testharness.StartProxy(c.t, strings.TrimPrefix(c.etcd.Endpoints[0], "http://"))
	c.etcdPx[name] = px
	eps = append(eps, "http://"+px.Addr)
	dir := c.dirs[name]
	if dir == "" {
		dir = c.t.TempDir()
		c.dirs[name] = dir
	}
	path := c.writeConfig(name, eps)
	d := runDaemon(c.t, dir, exec.Command(binary, "-config", path, "-listen", "127.0.0.1:0", "-gateway", name))
	c.gws[name] = d
	return d
}

// metrics scrapes gateway name's /metrics and /healthz.
func (c *gwCluster) metrics(name string) (metrics, health string, healthCode int) {
	c.t.Helper()
	d := c.gws[name]
	d.waitStderr("metrics listening", 10*time.Second)
	all := regexp.MustCompile(`msg="metrics listening" addr=(127\.0\.0\.1:\d+)`).FindAllStringSubmatch(d.stderr.String(), -1)
	addr := all[len(all)-1][1] // the latest start's
	metrics, _ = httpGet("http://" + addr + "/metrics")
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		c.t.Fatalf("healthz of %s: %v", name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return metrics, string(b), resp.StatusCode
}

// writeConfig writes gateway name's config file: the shared config and
// its path to etcd.
func (c *gwCluster) writeConfig(name string, eps []string) string {
	path := filepath.Join(c.dirs[name], "consoled.hcl")
	cfg := c.cfg + fmt.Sprintf("cluster {\n  etcd = %q\n}\n", eps)
	if err := os.WriteFile(path, []byte(jsonList(cfg)), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return path
}

// jsonList turns Go's %q of a []string ("[\"a\" \"b\"]") into HCL.
func jsonList(s string) string { return strings.ReplaceAll(s, "\" \"", "\", \"") }

// row is one console in `list --json`.
type row struct {
	Name, State, Gateway, Error string
}

func (c *gwCluster) list(gw string, k key) map[string]row {
	c.t.Helper()
	out, errOut, code := c.gws[gw].ssh(k, "", "list", "--json")
	if code != 0 {
		c.t.Fatalf("list --json on %s: %d %s", gw, code, errOut)
	}
	var rows []row
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		c.t.Fatalf("list --json on %s: %v: %q", gw, err, out)
	}
	m := map[string]row{}
	for _, r := range rows {
		m[r.Name] = r
	}
	return m
}

// waitUp waits until gateway gw lists every console up, held by the
// gateway rendezvous hashing picks among live (so no console is still
// moving), and returns who holds each.
func (c *gwCluster) waitUp(gw string, within time.Duration, live ...string) map[string]string {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		rows := c.list(gw, c.alice)
		where := map[string]string{}
		ok := len(rows) == c.count
		for _, r := range rows {
			where[r.Name] = r.Gateway
			if r.State != "up" || r.Gateway != cluster.Owner(r.Name, live) {
				ok = false
			}
		}
		if ok {
			return where
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("after %v, %s lists %+v", within, gw, rows)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// other is a gateway that does not hold console on.
func other(where map[string]string, console string, among ...string) string {
	for _, gw := range among {
		if where[console] != gw {
			return gw
		}
	}
	return ""
}

// One namespace: from a gateway that does not hold it, with the real ssh
// client, a console is attached, typed into, sent BREAK, powered; every
// gateway lists the same consoles with the same holders; a read-only user
// can do none of that through another gateway, and the holder's audit log
// names the entry gateway.
func TestClusterForwarding(t *testing.T) {
	c := startCluster(t)
	all := []string{"gw1", "gw2", "gw3"}
	where := c.waitUp("gw1", 90*time.Second, all...)
	var lists []string
	for _, gw := range all {
		w := c.waitUp(gw, 30*time.Second, all...)
		lists = append(lists, fmt.Sprint(w))
	}
	for _, l := range lists[1:] {
		if l != lists[0] {
			t.Errorf("gateways disagree on who holds what: %v", lists)
		}
	}
	out, _, _ := c.gws["gw2"].ssh(c.alice, "", "list")
	for _, name := range []string{"vm1", "db01"} {
		if !strings.Contains(out, name) || !strings.Contains(out, where[name]) {
			t.Errorf("list on gw2 lacks %s held by %s:\n%s", name, where[name], out)
		}
	}

	entry := other(where, "vm1", all...)
	t.Logf("vm1 on %s, db01 on %s; typing into vm1 through %s", where["vm1"], where["db01"], entry)
	tm := c.gws[entry].interactive(c.alice, "console", "vm1")
	tm.Expect(`attached to vm1 read-write; \^Ec\? for help`, 20*time.Second)
	tm.Send("\r")
	tm.Expect(`# `, 10*time.Second)
	tm.Send("echo hi-$((6*7))\r")
	tm.Expect(`\r\nhi-42\r+\n`, 10*time.Second)
	tm.Send("\x05cl0")
	tm.Expect(`sent BREAK`, 5*time.Second)
	tm.Send("h")
	tm.Expect(`sysrq: HELP`, 10*time.Second)
	// While the session runs: the entry counts it as forwarded, every
	// gateway sees three alive, /healthz says etcd is reachable.
	m, h, code := c.metrics(entry)
	if !strings.Contains(m, "consoled_cluster_forwarded_sessions 1\n") || !strings.Contains(m, "consoled_cluster_gateways_alive 3\n") ||
		!strings.Contains(m, "consoled_cluster_etcd_reachable 1\n") || code != 200 || !strings.Contains(h, "etcd: reachable") {
		t.Errorf("%s's metrics during a forwarded session (healthz %d %q):\n%s", entry, code, h, grepLines(m, "consoled_cluster_"))
	}
	if m, _, _ := c.metrics(where["vm1"]); !regexp.MustCompile(`consoled_cluster_consoles_held [12]\n`).MatchString(m) {
		t.Errorf("the holder's consoles_held:\n%s", grepLines(m, "consoled_cluster_"))
	}
	tm.Send("\x05c.")
	tm.Expect(`detached from vm1`, 5*time.Second)
	if code := tm.Wait(10 * time.Second); code != 0 {
		t.Errorf("ssh exit code %d after ^Ec. through %s", code, entry)
	}

	pentry := other(where, "db01", all...)
	if out, errOut, code := c.gws[pentry].ssh(c.alice, "", "power", "db01", "status"); code != 0 || !strings.Contains(out, "db01: power is on") {
		t.Errorf("power db01 status through %s: %d %q %q", pentry, code, out, errOut)
	}

	if out, errOut, code := c.gws[pentry].ssh(c.alice, "", "bootdev", "db01", "pxe"); code != 0 || out != "db01: boot device pxe for the next boot\n" {
		t.Errorf("bootdev db01 pxe through %s: %d %q %q", pentry, code, out, errOut)
	}

	// A crash seen by db01's holder is in `panics` on every gateway.
	c.bmc.HostSerial().Write([]byte("\r\nKernel panic - not syncing: cluster-test-42\r\n"))
	for _, gw := range all {
		deadline := time.Now().Add(30 * time.Second)
		for {
			out, errOut, _ := c.gws[gw].ssh(c.alice, "", "panics")
			if strings.Contains(out, "db01 ") && strings.Contains(out, "cluster-test-42") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("panics on %s lacks db01's crash (held by %s): %q %q", gw, where["db01"], out, errOut)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}

	// bob may only watch: through another gateway he can neither type,
	// BREAK nor power, and the holder audits that with the entry gateway.
	if _, errOut, code := c.gws[entry].ssh(c.bob, "", "send", "vm1", "reboot"); code != 2 || !strings.Contains(errOut, "read-only") {
		t.Errorf("bob's send through %s: %d %q", entry, code, errOut)
	}
	if _, errOut, code := c.gws[entry].ssh(c.bob, "", "break", "vm1"); code != 2 || !strings.Contains(errOut, "read-only") {
		t.Errorf("bob's break through %s: %d %q", entry, code, errOut)
	}
	if _, errOut, code := c.gws[pentry].ssh(c.bob, "", "power", "db01", "cycle"); code != 2 || !strings.Contains(errOut, "read-only") {
		t.Errorf("bob's power cycle through %s: %d %q", pentry, code, errOut)
	}
	if _, errOut, code := c.gws[pentry].ssh(c.bob, "", "bootdev", "db01", "disk"); code != 2 || !strings.Contains(errOut, "read-only") {
		t.Errorf("bob's bootdev through %s: %d %q", pentry, code, errOut)
	}
	_, errOut, code := c.gws[entry].ssh(c.bob, "echo typed-by-bob\n", "vm1")
	if code != 1 || !strings.Contains(errOut, "not sent") {
		t.Errorf("bob's raw session through %s: %d %q", entry, code, errOut)
	}
	auditPath := filepath.Join(c.gws[where["vm1"]].Dir, "logs", "audit.log")
	audit := testharness.ReadFileUntil(t, auditPath, `"via":"ssh via `+entry+`"`, 10*time.Second)
	for _, want := range []string{`"user":"bob"`, `"action":"send"`, `"action":"break"`} {
		found := false
		for _, line := range strings.Split(audit, "\n") {
			if strings.Contains(line, want) && strings.Contains(line, `"via":"ssh via `+entry+`"`) && (want == `"user":"bob"` || strings.Contains(line, "refused")) {
				found = true
			}
		}
		if !found {
			t.Errorf("the holder's audit log has no %s record via %s:\n%s", want, entry, audit)
		}
	}
	testharness.ReadFileUntil(t, filepath.Join(c.gws[entry].Dir, "logs", "audit.log"), `"console":"vm1","action":"forward","detail":"to gateway `+where["vm1"]+`"`, 10*time.Second)
	if strings.Contains(c.guest.SerialLog(), "typed-by-bob") {
		t.Error("bob's typing reached the holder's console")
	}
	if _, maxOpen, _ := c.telnet.Counts(); maxOpen != 1 {
		t.Errorf("the guest's telnet port saw %d connections at once", maxOpen)
	}
	c.checkGatewayTrust(where["vm1"], other(where, "vm1", all...))

	names := []string{}
	for n := range where {
		names = append(names, n)
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[db01 vm1]" {
		t.Errorf("consoles listed: %v", names)
	}
}

// grepLines is the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// forwardedLogin logs in to gateway to as gateway from would (login name
// carrying alice), with signer's key, and runs command; err is the login's.
func (c *gwCluster) forwardedLogin(to, from string, signer gossh.Signer, command string) (string, error) {
	pub, _, _, _, _ := gossh.ParseAuthorizedKey([]byte(c.alice.Pub))
	login := "@fwd?" + url.Values{"gw": {from}, "user": {"alice"}, "key": {gossh.FingerprintSHA256(pub)}, "from": {"127.0.0.1:1"}}.Encode()
	cl, err := gossh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", c.gws[to].Port), &gossh.ClientConfig{User: login,
		Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		return "", err
	}
	defer cl.Close()
	s, err := cl.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(command)
	return string(out), err
}

// checkGatewayTrust: a forwarded request is accepted only from a gateway,
// proved by the host key it published in etcd: a user's key, or another
// gateway's key under a different name, is refused.
func (c *gwCluster) checkGatewayTrust(holder, peer string) {
	t := c.t
	t.Helper()
	signerOf := func(path string) gossh.Signer {
		pem, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := gossh.ParsePrivateKey(pem)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	aliceKey := signerOf(c.alice.Path)
	peerKey := signerOf(filepath.Join(c.dirs[peer], "state", "ssh_host_ed25519_key"))
	third := ""
	for _, gw := range []string{"gw1", "gw2", "gw3"} {
		if gw != holder && gw != peer {
			third = gw
		}
	}
	if _, err := c.forwardedLogin(holder, peer, aliceKey, "list --json"); err == nil {
		t.Errorf("%s accepted a forwarded request signed with a user's key", holder)
	}
	if _, err := c.forwardedLogin(holder, third, peerKey, "list --json"); err == nil {
		t.Errorf("%s accepted %s's host key as gateway %s", holder, peer, third)
	}
	out, err := c.forwardedLogin(holder, peer, peerKey, "list --json")
	if err != nil || !strings.Contains(out, `"gateway": "`+holder+`"`) {
		t.Errorf("%s refused %s forwarding with its own host key: %v %q", holder, peer, err, out)
	}
	if strings.Contains(out, `"gateway": "`+peer+`"`) {
		t.Errorf("a forwarded list was gathered again from the other gateways: %q", out)
	}
	// A forwarded command about a console the gateway does not run is not
	// forwarded again, and says where the console is going.
	holderKey := signerOf(filepath.Join(c.dirs[holder], "state", "ssh_host_ed25519_key"))
	out, err = c.forwardedLogin(peer, holder, holderKey, "who vm1")
	if err == nil || !strings.Contains(out, "console vm1 is moving to gateway "+holder+"; try again") {
		t.Errorf("who vm1 forwarded to %s, which does not hold it: %v %q", peer, err, out)
	}
}
