package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"consoled/internal/testharness"
)

// webOnGuest runs consoled with the web view and console vm1 on the shared
// qemu guest: alice and bob may write, rita may only watch.
func webOnGuest(t *testing.T) (d *daemon, alice, bob, rita key) {
	t.Helper()
	g := sharedGuest(t)
	alice, bob, rita = newKey(t, "alice"), newKey(t, "bob"), newKey(t, "rita")
	d = startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+userBlock("rita", rita)+fmt.Sprintf(`
web {
  listen = "127.0.0.1:0"
}
console "vm1" {
  telnet { address = "127.0.0.1:%d" }
  rw = ["alice", "bob"]
  ro = ["rita"]
}
`, g.Port))
	d.waitState(alice, "vm1", "up")
	return d, alice, bob, rita
}

// The web view in a real browser, logged in with a link from `ssh ... web`:
// the list, the qemu guest's terminal (typing, write access taken from an
// SSH writer who is told, BREAK + h), a read-only user whose keys and
// actions go nowhere, and the refusals: used and forged links, a request
// without the CSRF token, a WebSocket from another origin.
func TestWebConsole(t *testing.T) {
	d, alice, bob, rita := webOnGuest(t)
	base := d.webURL()
	browser := newChromium(t)

	// bob types on vm1 over ssh.
	ssh := d.interactive(bob, "console", "vm1")
	ssh.Expect(`attached to vm1 read-write`, 30*time.Second)
	ssh.Send("\r")
	ssh.Expect(`# `, 30*time.Second)

	// alice logs in with a link and sees the list.
	link := d.webLink(alice)
	a := browser.person()
	a.open(link)
	a.waitText(`#consoles tbody tr[data-name="vm1"]`, `vm1\s*up\s*telnet\s*bob`, 30*time.Second)
	a.screenshot("web-list")
	a.do("filtering", chromedp.SendKeys(chromedp.CSS("#filter"), "db"))
	a.waitText("#count", `^0 of 1$`, 10*time.Second)
	eval[int](a, `(document.getElementById('filter').value = '', 0)`)
	a.do("filtering", chromedp.SendKeys(chromedp.CSS("#filter"), "vm"))
	a.waitText("#count", `^1 of 1$`, 10*time.Second)
	if got := a.text("header .user"); got != "alice" {
		t.Errorf("logged in as %q, want alice", got)
	}

	t.Run("link from another site", func(t *testing.T) {
		// A link clicked in a page of another site (a chat, a ticket): the
		// SameSite=Strict cookie still logs the browser in.
		ln, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Fatal(err)
		}
		link := d.webLink(bob)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `<!doctype html><a id="go" href="%s">the console</a>`, link)
		})}
		go srv.Serve(ln)
		defer srv.Close()
		other := browser.person()
		other.open("http://" + ln.Addr().String() + "/")
		other.click("#go")
		other.waitJS(`document.querySelectorAll('#consoles tbody tr').length + ' consoles as ' + ((document.querySelector('header .user') || {}).textContent || '')`,
			`^1 consoles as bob$`, 30*time.Second)
	})

	t.Run("links", func(t *testing.T) {
		other := browser.person()
		other.open(link) // used already
		other.waitText("#message", `not valid: it was used already`, 10*time.Second)
		other.open(base + "/login?t=" + strings.Repeat("A", 43)) // forged
		other.waitText("#message", `not valid`, 10*time.Second)
		other.open(base + "/")
		other.waitText("#message", `Not logged in`, 10*time.Second)
		audit := testharness.ReadFileUntil(t, d.Dir+"/logs/audit.log", `"action":"login","result":"refused`, 10*time.Second)
		if !strings.Contains(audit, `"user":"alice","key":"SHA256:`) || !strings.Contains(audit, `"via":"web","action":"login","result":"ok"`) {
			t.Errorf("audit log lacks alice's web login:\n%s", audit)
		}
	})

	// alice opens the terminal: bob writes, so she watches until she takes it.
	a.open(base + "/console/vm1")
	a.waitScreen(`attached to vm1 read-only: bob has write access`, 30*time.Second)
	a.click("#force")
	a.waitText("#state", `you write`, 20*time.Second)
	ssh.Expect(`write access taken over by alice from 127\.0\.0\.1:\d+; you are now read-only`, 20*time.Second)
	a.typeKeys("echo hi-$((6*7))\r")
	a.waitScreen(`(?m)^hi-42`, 30*time.Second)
	ssh.Expect(`hi-42`, 20*time.Second) // bob watches it happen
	a.click("#break")
	a.waitScreen(`sent BREAK`, 20*time.Second)
	a.typeKeys("h")
	a.waitScreen(`sysrq: HELP`, 20*time.Second)
	a.typeKeys("\r")
	a.screenshot("web-terminal")
	for _, want := range []string{`"via":"web","console":"vm1","action":"takeover","detail":"from bob","result":"ok"`,
		`"via":"web","console":"vm1","action":"break","detail":"BREAK","result":"ok"`} {
		testharness.ReadFileUntil(t, d.Dir+"/logs/audit.log", want, 10*time.Second) // audited as over SSH, via web
	}
	a.click("#who")
	a.waitScreen(`on vm1:\s+alice\s+rw since \S+ from 127\.0\.0\.1:\d+\s+bob\s+ro since`, 20*time.Second)
	a.click("#replay")
	a.waitScreen(`last 20 lines of vm1:(?s:.*)hi-42(?s:.*)end of replay`, 20*time.Second)

	t.Run("power asked first", func(t *testing.T) {
		asked := a.acceptDialogs()
		a.typeKeys("\x05c!c") // ^Ec!c: the page asks, the user says yes, the server decides
		a.waitScreen(`power: vm1 has no power control configured`, 20*time.Second)
		if q := asked(); len(q) != 1 || q[0] != "power cycle vm1?" {
			t.Errorf("the page asked %q, want power cycle vm1?", q)
		}
	})

	t.Run("history", func(t *testing.T) {
		h := browser.person()
		h.login(d.webLink(alice))
		h.open(base + "/console/vm1/log?since=1h&grep=" + url.QueryEscape(`^hi-\d+`) + "&context=1")
		got := h.waitText("#log", `hi-42`, 20*time.Second)
		// One match, one line of context either side (a mark may stand
		// between lines, on a line of its own).
		if log := h.text("#log"); !strings.Contains(log, "echo hi-$((6*7))") || len(trimLines(log)) > 4 {
			t.Errorf("grep ^hi- with one line of context:\n%s", log)
		}
		if cmd := h.text(".cmd code"); !strings.HasSuffix(cmd, ` logs vm1 --since 1h --grep '^hi-\d+' --context 1`) {
			t.Errorf("the same query over ssh is shown as %q", cmd)
		}
		if n := eval[int](h, `document.querySelectorAll('#timeline svg rect.bar').length`); n == 0 {
			t.Errorf("the timeline shows no output (%s)", got)
		}
		if n := eval[int](h, `document.querySelectorAll('#timeline svg rect.up').length`); n == 0 {
			t.Errorf("the timeline shows no up period: %s", h.text("#timeline"))
		}
		h.screenshot("web-timeline")
	})

	t.Run("read-only", func(t *testing.T) {
		r := browser.person()
		r.login(d.webLink(rita))
		r.open(base + "/console/vm1")
		r.waitScreen(`attached to vm1 read-only \(you may watch`, 30*time.Second)
		for _, b := range []string{"take", "force", "break", "seq", "power"} {
			if n := eval[int](r, fmt.Sprintf(`document.querySelectorAll('#%s').length`, b)); n != 0 {
				t.Errorf("read-only page has the %s control", b)
			}
		}
		r.typeKeys("echo ro-$((5*5))\r")
		r.waitScreen(`read-only: you may watch vm1, not type on it; keystrokes are not sent`, 20*time.Second)
		// The buttons' actions refused by the server, whatever the page shows.
		cookie, csrf := r.cookie("consoled_session"), eval[string](r, `document.querySelector('meta[name=csrf]').content`)
		ws := dialTerm(t, base, cookie, csrf, base, http.StatusSwitchingProtocols)
		for _, op := range []string{`{"op":"force"}`, `{"op":"break","n":0}`, `{"op":"power","action":"cycle","confirmed":true}`} {
			ws.Write(context.Background(), websocket.MessageText, []byte(op))
		}
		readTerm(t, ws, `force write access refused: you have read-only access to vm1`)
		readTerm(t, ws, `break BREAK refused: you have read-only access to vm1`)
		readTerm(t, ws, `power cycle refused: you have read-only access to vm1`)
		ws.CloseNow()
		// What rita typed never reached the machine: alice's next command
		// comes back, rita's never did.
		a.typeKeys("echo after-$((1+1))\r")
		a.waitScreen(`(?m)^after-2`, 30*time.Second)
		if strings.Contains(a.screen(), "ro-25") {
			t.Errorf("rita's keystrokes reached the console:\n%s", a.screen())
		}
		testharness.ReadFileUntil(t, d.Dir+"/logs/audit.log", `"user":"rita","key":"SHA256:`, 10*time.Second)
		testharness.ReadFileUntil(t, d.Dir+"/logs/audit.log", `"via":"web","console":"vm1","action":"type","result":"refused: read-only access"`, 10*time.Second)
	})

	t.Run("csrf and origin", func(t *testing.T) {
		status := eval[int](a, `fetch('/logout', {method: 'POST'}).then(r => r.status)`)
		if status != http.StatusForbidden {
			t.Errorf("POST /logout without the CSRF token: status %d, want 403", status)
		}
		status = eval[int](a, `fetch('/logout', {method: 'POST', headers: {'X-CSRF-Token': 'forged'}}).then(r => r.status)`)
		if status != http.StatusForbidden {
			t.Errorf("POST /logout with a forged CSRF token: status %d, want 403", status)
		}
		if status := eval[int](a, `fetch('/api/consoles').then(r => r.status)`); status != http.StatusOK {
			t.Errorf("alice was logged out by a refused request: status %d", status)
		}
		cookie, csrf := a.cookie("consoled_session"), eval[string](a, `document.querySelector('meta[name=csrf]').content`)
		dialTerm(t, base, cookie, csrf, "http://evil.example", http.StatusForbidden)
		dialTerm(t, base, cookie, "", base, http.StatusForbidden)
		testharness.ReadFileUntil(t, d.Dir+"/logs/audit.log", `"result":"refused: WebSocket from another origin (http://evil.example)"`, 10*time.Second)
		testharness.ReadFileUntil(t, d.Dir+"/logs/audit.log", `"action":"web","detail":"POST /logout","result":"refused: missing or wrong CSRF token"`, 10*time.Second)
	})

	t.Run("logout", func(t *testing.T) {
		a.open(base + "/")
		a.click(`header form button`)
		a.waitText("#message", `Logged out`, 10*time.Second)
		a.open(base + "/")
		a.waitText("#message", `Not logged in`, 10*time.Second)
		ssh.Expect(`write access is yours again`, 20*time.Second) // alice's terminal ended
	})

	// A terminal open when consoled stops is told why.
	b := browser.person()
	b.login(d.webLink(bob))
	b.open(base + "/console/vm1")
	b.waitScreen(`attached to vm1`, 30*time.Second)
	d.Stop()
	b.waitScreen(`disconnected: consoled is shutting down`, 20*time.Second)
	b.waitText("#state", `disconnected: consoled is shutting down`, 10*time.Second)
}

// dialTerm opens the terminal WebSocket of vm1 as a browser with cookie
// would, from origin, and checks the status it gets.
func dialTerm(t *testing.T, base, cookie, csrf, origin string, want int) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h := http.Header{"Cookie": {"consoled_session=" + cookie}, "Origin": {origin}}
	url := "ws" + strings.TrimPrefix(base, "http") + "/ws/console/vm1?csrf=" + csrf
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	got := 0
	if resp != nil {
		got = resp.StatusCode
	}
	if got != want {
		t.Fatalf("WebSocket from %s with csrf %q: status %d (%v), want %d", origin, csrf, got, err, want)
	}
	return c
}

// readTerm reads the terminal WebSocket until its text shows want.
func readTerm(t *testing.T, c *websocket.Conn, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var seen strings.Builder
	for !strings.Contains(seen.String(), want) {
		_, p, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reading the terminal for %q: %v; got:\n%s", want, err, seen.String())
		}
		seen.Write(p)
	}
}

// The embedded default serves the web view on 127.0.0.1 and prints a
// login link beside the ssh command; `ssh ... web` prints another.
func TestEmbeddedDefaultWeb(t *testing.T) {
	home := t.TempDir()
	me := newKey(t, "me")
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519.pub"), []byte(me.Pub+"\n"), 0o600)
	data := filepath.Join(t.TempDir(), "state")
	cmd := exec.Command(binary, "-data", data, "-listen", "127.0.0.1:0", "-web-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "HOME="+home)
	d := runDaemon(t, data, cmd)
	d.waitStderr("Or open the web view", 10*time.Second)
	banner := regexp.MustCompile(`(?s)Connect with:\n\n    ssh -p \d+ -t console@127\.0\.0\.1 demo\n.*` +
		`'ssh -p \d+ console@127\.0\.0\.1 web' prints a new one\):\n\n    (http://127\.0\.0\.1:\d+/login\?t=[\w-]{43})\n`).FindStringSubmatch(d.stderr.String())
	if banner == nil {
		t.Fatalf("no login link beside the ssh command:\n%s", d.stderr)
	}
	for _, link := range []string{banner[1], d.webLink(me)} {
		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar, Timeout: 20 * time.Second}
		resp, err := client.Get(link)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("opening %s: %v %v", link, err, resp)
		}
		resp.Body.Close()
		resp, err = client.Get(strings.Split(link, "/login")[0] + "/api/consoles")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `"name":"demo"`) {
			t.Errorf("the list after logging in with %s: %d %s", link, resp.StatusCode, body)
		}
	}
}

// Without a web block there is no web view, and `ssh ... web` says so.
func TestWebOff(t *testing.T) {
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+"console \"c1\" {\n  demo {}\n}\n")
	out, errOut, code := d.ssh(alice, "", "web")
	if code != 1 || out != "" || errOut != "consoled: the web view is off (the config has no web { listen = ... } block)\n" {
		t.Errorf("ssh web without a web view: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// A real kernel panic of a qemu guest of its own (it stays in the panic)
// crashed from the browser, BREAK then c: the crash page shows it with the
// log lines around it, the list names it, the timeline marks it.
func TestWebCrash(t *testing.T) {
	g := privateGuest(t)
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf(`
web {
  listen = "127.0.0.1:0"
}
console "crashy" {
  telnet { address = "127.0.0.1:%d" }
}
`, g.Port))
	d.waitState(alice, "crashy", "up")
	base := d.webURL()
	a := newChromium(t).person()
	a.login(d.webLink(alice))
	a.open(base + "/console/crashy")
	a.waitScreen(`attached to crashy read-write`, 30*time.Second)
	a.typeKeys("\r")
	a.waitScreen(`# `, 30*time.Second)
	a.click("#break")
	a.waitScreen(`sent BREAK`, 20*time.Second)
	a.typeKeys("c")
	a.waitScreen(`Kernel panic - not syncing: sysrq triggered crash`, 60*time.Second)
	d.waitStderr(`panic detected`, 30*time.Second)

	a.open(base + "/panics")
	a.waitText(".crash h2", `crashy \S+ Kernel panic - not syncing: sysrq triggered crash`, 20*time.Second)
	if log := a.text(".crash pre"); !strings.Contains(log, "sysrq: Trigger a crash") || !strings.Contains(log, "Kernel panic - not syncing") {
		t.Errorf("the crash without the lines around it:\n%s", log)
	}
	a.screenshot("web-panics")
	a.open(base + "/")
	a.waitText(`#consoles tbody tr[data-name="crashy"] td.crash`, `Kernel panic - not syncing: sysrq triggered crash`, 20*time.Second)
	// The list's picture of the day marks the crash too.
	a.waitJS(`(() => { const i = document.querySelector('#consoles tr[data-name="crashy"] td.timeline img');
		return i && i.complete && i.naturalWidth > 0 ? 'loaded' : 'not yet'; })()`, `^loaded$`, 20*time.Second)
	if svg := eval[string](a, `fetch('/console/crashy/timeline.svg').then(r => r.text())`); strings.Count(svg, `<line class="crash"`) != 1 {
		t.Errorf("the list's timeline of crashy marks no crash:\n%s", svg)
	}
	a.screenshot("web-list-crash")
	a.open(base + "/console/crashy/log?since=10m")
	if n := eval[int](a, `document.querySelectorAll('#timeline svg line.crash').length`); n != 1 {
		t.Errorf("the timeline marks %d crashes, want 1: %s", n, a.text("#timeline"))
	}
	a.screenshot("web-timeline-crash")
}

// Power from the browser's power menu against ipmi_sim: the page asks
// first, and the action reaches the BMC (its chassis hook writes
// $POWER_LOG), announced in the terminal with who did it.
func TestWebPower(t *testing.T) {
	bmc := testharness.StartBMC(t)
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+"web {\n  listen = \"127.0.0.1:0\"\n}\n"+ipmiConsole("db01", bmc, ""))
	d.waitState(alice, "db01", "up")
	a := newChromium(t).person()
	a.login(d.webLink(alice))
	a.open(d.webURL() + "/console/db01")
	a.waitScreen(`attached to db01 read-write`, 30*time.Second)
	asked := a.acceptDialogs()
	eval[int](a, `(() => { const p = document.getElementById('power'); p.value = 'cycle'; p.dispatchEvent(new Event('change')); return 0; })()`)
	a.waitScreen(`power cycle by alice: `, 60*time.Second)
	if q := asked(); len(q) != 1 || q[0] != "power cycle db01?" {
		t.Errorf("the page asked %q, want power cycle db01?", q)
	}
	log := testharness.ReadFileUntil(t, bmc.Env["POWER_LOG"], "set power 1", 20*time.Second)
	if !regexp.MustCompile(`(?s)set power 0.*set power 1`).MatchString(log) {
		t.Errorf("the BMC was not cycled:\n%s", log)
	}
	testharness.ReadFileUntil(t, d.Dir+"/logs/audit.log", `"via":"web","console":"db01","action":"power","detail":"cycle","result":"ok"`, 10*time.Second)
}
