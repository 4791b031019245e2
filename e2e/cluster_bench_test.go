package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"consoled/cluster"
	"consoled/internal/testharness"
)

// The cluster's numbers for BENCHMARKS.md:
//
//	go test -run '^$' -bench Cluster -benchtime 1x -timeout 20m ./e2e
//
// Every process is started and stopped by PID; everything is on loopback.

var (
	benchBinOnce sync.Once
	benchBin     string
)

// benchBinary is consoled built without -race (the tests' binary has it),
// so that the numbers are a production build's.
func benchBinary(b *testing.B) string {
	benchBinOnce.Do(func() {
		p := filepath.Join(filepath.Dir(binary), "consoled-norace") // removed with the tests' binary
		if out, err := exec.Command("go", "build", "-o", p, "../cmd/consoled").CombinedOutput(); err != nil {
			b.Fatalf("building consoled: %v\n%s", err, out)
		}
		benchBin = p
	})
	return benchBin
}

// benchGateways starts gateways names on etcd with consoles (HCL), each
// started with -gateway NAME, and returns them.
func benchGateways(b *testing.B, etcd *testharness.Etcd, alice key, consoles string, names ...string) map[string]*daemon {
	cfg := userBlock("alice", alice) + consoles + fmt.Sprintf("cluster {\n  etcd = [%q]\n}\n", etcd.Endpoints[0])
	gws := map[string]*daemon{}
	for _, name := range names {
		dir := b.TempDir()
		path := filepath.Join(dir, "consoled.hcl")
		os.WriteFile(path, []byte(cfg), 0o600)
		gws[name] = runDaemon(b, dir, exec.Command(benchBinary(b), "-config", path, "-listen", "127.0.0.1:0", "-gateway", name))
	}
	return gws
}

// upOn is how many consoles gateway d lists up, held by a gateway of live.
func upOn(b *testing.B, d *daemon, alice key, live []string) (up, total int) {
	out, _, code := d.ssh(alice, "", "list", "--json")
	if code != 0 {
		return 0, 0
	}
	var rows []row
	json.Unmarshal([]byte(out), &rows)
	for _, r := range rows {
		if r.State == "up" && r.Gateway == cluster.Owner(r.Name, live) {
			up++
		}
	}
	return up, len(rows)
}

// keystroker types one byte at a time into console NAME over a raw SSH
// session (Go's client, no OpenSSH process in the measurement) and waits
// for the machine's echo.
type keystroker struct {
	client *gossh.Client
	in     io.WriteCloser
	out    *bufio.Reader
}

func newKeystroker(b *testing.B, d *daemon, alice key, console string) *keystroker {
	pem, err := os.ReadFile(alice.Path)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := gossh.ParsePrivateKey(pem)
	if err != nil {
		b.Fatal(err)
	}
	cl, err := gossh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", d.Port), &gossh.ClientConfig{User: "console",
		Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey()})
	if err != nil {
		b.Fatal(err)
	}
	s, err := cl.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	in, _ := s.StdinPipe()
	out, _ := s.StdoutPipe()
	if err := s.Start(console + " --force"); err != nil {
		b.Fatal(err)
	}
	k := &keystroker{client: cl, in: in, out: bufio.NewReader(out)}
	k.roundTrip('.') // attached and echoing
	return k
}

func (k *keystroker) roundTrip(c byte) time.Duration {
	start := time.Now()
	k.in.Write([]byte{c})
	for {
		got, err := k.out.ReadByte()
		if err != nil {
			return -1
		}
		if got == c {
			return time.Since(start)
		}
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

// Keystroke round trip to a console pinned on gw1 (cat in a pty: the pty
// echoes each byte), typed on gw1 (direct) and on gw2 (forwarded to gw1).
func BenchmarkClusterKeystroke(b *testing.B) {
	etcd := testharness.StartEtcd(b, 1)
	alice := newKey(b, "alice")
	gws := benchGateways(b, etcd, alice, `
console "echo" {
  gateway = "gw1"
  exec { command = ["cat"] }
}
`, "gw1", "gw2")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if up, _ := upOn(b, gws["gw2"], alice, []string{"gw1"}); up == 1 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("echo not up")
		}
		time.Sleep(200 * time.Millisecond)
	}
	const keys = 2000
	for _, path := range []string{"direct", "forwarded"} {
		b.Run(path, func(b *testing.B) {
			entry := map[string]string{"direct": "gw1", "forwarded": "gw2"}[path]
			k := newKeystroker(b, gws[entry], alice, "echo")
			defer k.client.Close()
			for range b.N {
				var rtts []time.Duration
				for i := range keys {
					rtt := k.roundTrip(byte('a' + i%26))
					if rtt < 0 {
						b.Fatal("session ended")
					}
					rtts = append(rtts, rtt)
				}
				b.ReportMetric(float64(percentile(rtts, 0.5).Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(percentile(rtts, 0.99).Microseconds())/1000, "p99-ms")
			}
		})
	}
}

// etcdCounters reads etcd's own counters of what it served.
func etcdCounters(b *testing.B, etcd *testharness.Etcd) map[string]float64 {
	resp, err := http.Get(etcd.Endpoints[0] + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		for _, name := range []string{"etcd_debugging_lease_renewed_total", "etcd_mvcc_put_total", "etcd_mvcc_delete_total",
			"etcd_mvcc_txn_total", "etcd_mvcc_range_total", "etcd_debugging_lease_granted_total", "etcd_debugging_mvcc_watcher_total"} {
			if f[0] == name {
				out[name], _ = strconv.ParseFloat(f[1], 64)
			}
		}
	}
	return out
}

// Three gateways × 300 movable consoles (900 demo machines, spread by
// rendezvous hashing): what a steady cluster asks of etcd in a minute, then
// how long until the about 300 consoles of the gateway killed with SIGKILL
// are up on the others.
func BenchmarkClusterFailover300(b *testing.B) {
	const n = 900
	for range b.N {
		etcd := testharness.StartEtcd(b, 1)
		alice := newKey(b, "alice")
		var consoles strings.Builder
		for i := range n {
			fmt.Fprintf(&consoles, "console \"m%03d\" {\n  demo {}\n}\n", i)
		}
		all := []string{"gw1", "gw2", "gw3"}
		gws := benchGateways(b, etcd, alice, consoles.String(), all...)
		waitAllUp := func(d *daemon, live []string, within time.Duration) time.Duration {
			start := time.Now()
			for {
				if up, total := upOn(b, d, alice, live); up == n && total == n {
					return time.Since(start)
				}
				if time.Since(start) > within {
					b.Fatalf("not all %d up on %v within %v", n, live, within)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		waitAllUp(gws["gw1"], all, 120*time.Second)
		// Steady: a minute of nothing happening.
		before := etcdCounters(b, etcd)
		time.Sleep(time.Minute)
		after := etcdCounters(b, etcd)
		d := func(k string) float64 { return after[k] - before[k] }
		b.ReportMetric(d("etcd_debugging_lease_renewed_total"), "keepalives/min")
		b.ReportMetric(d("etcd_mvcc_put_total")+d("etcd_mvcc_delete_total")+d("etcd_mvcc_txn_total"), "writes/min")
		b.ReportMetric(d("etcd_mvcc_range_total"), "reads/min")
		// Failover: kill the gateway holding the most consoles.
		held := map[string]int{}
		for i := range n {
			held[cluster.Owner(fmt.Sprintf("m%03d", i), all)]++
		}
		victim := "gw1"
		for gw, n := range held {
			if n > held[victim] {
				victim = gw
			}
		}
		var live []string
		for _, gw := range all {
			if gw != victim {
				live = append(live, gw)
			}
		}
		killed := time.Now()
		gws[victim].cmd.Process.Kill()
		<-gws[victim].exited
		waitAllUp(gws[live[0]], live, 120*time.Second)
		b.ReportMetric(time.Since(killed).Seconds(), "failover-s")
		b.ReportMetric(float64(held[victim]), "consoles-moved")
		for _, gw := range live {
			gws[gw].Stop()
		}
	}
}
