package e2e

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The shared file changes and each gateway reloads it: a new movable
// console comes up on the gateway that rendezvous hashing picks, a pinned
// one on its gateway, and every gateway lists both. When the pinned
// console's gateway dies, every gateway lists it down (gateway gw3
// unreachable) and an attach says so.
func TestClusterReload(t *testing.T) {
	c := startCluster(t)
	all := []string{"gw1", "gw2", "gw3"}
	c.waitUp("gw1", 90*time.Second, all...)
	c.cfg += `
console "extra" {
  demo {}
}
console "pinned3" {
  gateway = "gw3"
  demo {}
}
`
	c.count = 4
	for _, gw := range all {
		c.writeConfig(gw, []string{"http://" + c.etcdPx[gw].Addr})
		c.gws[gw].cmd.Process.Signal(syscall.SIGHUP)
	}
	for _, gw := range all {
		where := c.waitUp(gw, 60*time.Second, all...)
		if where["pinned3"] != "gw3" {
			t.Errorf("%s lists pinned3 on %s", gw, where["pinned3"])
		}
	}

	// A console set chooses among the whole cluster's consoles.
	for _, gw := range all {
		out, errOut, code := c.gws[gw].ssh(c.alice, "", "list", "--json", "pinned*,vm1")
		var rows []row
		json.Unmarshal([]byte(out), &rows)
		if code != 0 || len(rows) != 2 || rows[0].Name != "pinned3" || rows[0].Gateway != "gw3" || rows[1].Name != "vm1" || rows[1].Gateway != c.list(gw, c.alice)["vm1"].Gateway {
			t.Errorf("list --json 'pinned*,vm1' on %s: %d %q %q", gw, code, out, errOut)
		}
	}
	if _, errOut, code := c.gws["gw1"].ssh(c.alice, "", "list", "nosuch*"); code != 2 || !strings.Contains(errOut, "no console matches") {
		t.Errorf("list nosuch*: %d %q", code, errOut)
	}

	c.kill9("gw3")
	live := []string{"gw1", "gw2"}
	for _, gw := range live {
		deadline := time.Now().Add(60 * time.Second)
		for {
			out, _, _ := c.gws[gw].ssh(c.alice, "", "list")
			line := ""
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "pinned3 ") {
					line = l
				}
			}
			if strings.Contains(line, "down (gateway gw3 unreachable)") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s lists pinned3 as %q, not down (gateway gw3 unreachable):\n%s", gw, line, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
		out, _, _ := c.gws[gw].ssh(c.alice, "", "list", "--json")
		var rows []row
		json.Unmarshal([]byte(out), &rows)
		for _, r := range rows {
			if r.Name == "pinned3" && (r.State != "down" || r.Error != "gateway gw3 unreachable") {
				t.Errorf("%s: pinned3 in list --json: %+v", gw, r)
			}
		}
		if _, errOut, code := c.gws[gw].ssh(c.alice, "", "power", "pinned3", "status"); code != 1 || !strings.Contains(errOut, "console pinned3 is down (gateway gw3 unreachable)") {
			t.Errorf("%s: power pinned3: %d %q", gw, code, errOut)
		}
	}
	// The movable ones, extra included, live on.
	deadline := time.Now().Add(60 * time.Second)
	for {
		rows := c.list("gw1", c.alice)
		if rows["extra"].State == "up" && rows["vm1"].State == "up" && rows["db01"].State == "up" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after gw3 died, gw1 lists %+v", rows)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
