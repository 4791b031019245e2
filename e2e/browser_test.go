package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromium is a headless Chromium for one test, driven with chromedp; each
// person gets a tab of their own browser context (own cookies).
type chromium struct {
	t    *testing.T
	root context.Context
}

// newChromium starts Debian's chromium with a fresh profile; the test's
// cleanup stops it.
func newChromium(t *testing.T) *chromium {
	t.Helper()
	path, err := exec.LookPath("chromium")
	need(t, "chromium (apt-get install chromium)", err == nil)
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.Headless, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 760)}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	if err := chromedp.Do(root); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return &chromium{t: t, root: root}
}

// tab is one person's page.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// person opens a tab in a browser context of its own.
func (c *chromium) person() *tab {
	ctx, cancel := chromedp.NewContext(c.root, chromedp.WithNewBrowserContext())
	c.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		c.t.Fatalf("opening a tab: %v", err)
	}
	return &tab{t: c.t, ctx: ctx}
}

// do runs steps with a generous bound.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// open loads url.
func (tb *tab) open(url string) {
	tb.t.Helper()
	tb.do("opening "+url, chromedp.Navigate(url))
}

// login opens a login link and waits for the console list it leads to.
func (tb *tab) login(link string) {
	tb.t.Helper()
	tb.open(link)
	tb.waitJS(`document.querySelectorAll('#consoles tbody tr').length + ' consoles'`, `^[1-9]\d* consoles`, 30*time.Second)
}

// text is the text of the first element that matches css.
func (tb *tab) text(css string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(css)))
	if err != nil {
		tb.t.Fatalf("reading %s: %v", css, err)
	}
	return s
}

// waitText waits until the element css holds text matching re.
func (tb *tab) waitText(css, re string, timeout time.Duration) string {
	tb.t.Helper()
	return tb.waitJS(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, css), re, timeout)
}

// screenJS is the text on the xterm.js screen and in its scrollback.
const screenJS = `(() => { const t = window.consoledTerm; if (!t) return ''; const b = t.buffer.active; const out = [];
  for (let i = 0; i < b.length; i++) { const l = b.getLine(i); out.push(l ? l.translateToString(true) : ''); }
  return out.join('\n'); })()`

// waitScreen waits until the terminal shows text matching re.
func (tb *tab) waitScreen(re string, timeout time.Duration) string {
	tb.t.Helper()
	return tb.waitJS(screenJS, re, timeout)
}

// screen is the terminal's text now.
func (tb *tab) screen() string { return eval[string](tb, screenJS) }

// waitJS polls a string expression until it matches re.
func (tb *tab) waitJS(js, re string, timeout time.Duration) string {
	tb.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		s := eval[string](tb, js)
		if m := rx.FindString(s); m != "" {
			return m
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("no match for %q within %v in:\n%s\n(the page at %s says:\n%s)", re, timeout, s,
				eval[string](tb, `location.href`), eval[string](tb, `document.body ? document.body.innerText : ''`))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// typeKeys types s into the terminal as keystrokes ("\r" is Enter): one
// keyDown carrying the text and one keyUp per key, as a keyboard sends
// them (chromedp.SendKeys adds a char event, which xterm.js takes as a
// second key press).
func (tb *tab) typeKeys(s string) {
	tb.t.Helper()
	tb.do("typing "+s, chromedp.Focus(chromedp.CSS(".xterm-helper-textarea")),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			for _, r := range s {
				if r > 0 && r < 0x1b && r != '\r' { // Ctrl+letter, as a keyboard sends it: no text
					letter := string(rune('A' + r - 1))
					ev := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: strings.ToLower(letter), Code: "Key" + letter,
						Modifiers: int64(kb.ModifierCtrl), WindowsVirtualKeyCode: int64('A' + r - 1)}
					up := ev
					up.Type = input.DispatchKeyEventTypeKeyUp
					for _, e := range []input.DispatchKeyEventParams{ev, up} {
						if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, e); err != nil {
							return err
						}
					}
					continue
				}
				evs := kb.Encode(r)
				down, up := *evs[0], *evs[len(evs)-1]
				if len(evs) == 3 {
					down.Text, down.UnmodifiedText = evs[1].Text, evs[1].UnmodifiedText
				} else if r == '\r' {
					down.Text = "\r"
				}
				for _, ev := range []input.DispatchKeyEventParams{down, up} {
					if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev); err != nil {
						return err
					}
				}
			}
			return nil
		}))
}

// click clicks the element css.
func (tb *tab) click(css string) {
	tb.t.Helper()
	tb.do("clicking "+css, chromedp.Click(chromedp.CSS(css)))
}

// cookie is the value of the page's cookie name (HttpOnly ones too).
func (tb *tab) cookie(name string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	var value string
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
		if err != nil {
			return err
		}
		for _, c := range res.Cookies {
			if c.Name == name {
				value = c.Value
			}
		}
		return nil
	}))
	if err != nil || value == "" {
		tb.t.Fatalf("no cookie %s: %v", name, err)
	}
	return value
}

// screenshot saves the page as a PNG among the test's artifacts.
func (tb *tab) screenshot(name string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(artifactDir(tb.t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot: %s", path)
	return path
}

// acceptDialogs answers yes to every confirm() the page shows from now on;
// asked is what they asked so far.
func (tb *tab) acceptDialogs() (asked func() []string) {
	var mu sync.Mutex
	var msgs []string
	err := chromedp.Listen(tb.ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			mu.Lock()
			msgs = append(msgs, d.Message)
			mu.Unlock()
			go chromedp.Do(tb.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				_, err := cdp.Call(ctx, t, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
				return err
			}))
		}
	})
	if err != nil {
		tb.t.Fatal(err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), msgs...)
	}
}

// artifactDir is where screenshots go: $CONSOLED_ARTIFACTS, or a folder
// in the temp directory that outlives the test (not in the repository).
func artifactDir(t *testing.T) string {
	dir := os.Getenv("CONSOLED_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "consoled-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// webURL is the web view's base URL, from consoled's "web listening" line.
func (d *daemon) webURL() string {
	d.t.Helper()
	d.waitStderr(`msg="web listening"`, 20*time.Second)
	m := regexp.MustCompile(`msg="web listening" addr=\S+ url=(\S+)`).FindStringSubmatch(d.stderr.String())
	if m == nil {
		d.t.Fatalf("no web url in:\n%s", d.stderr)
	}
	return m[1]
}

// webLink asks for a login link over ssh, as a person does.
func (d *daemon) webLink(k key) string {
	d.t.Helper()
	out, errOut, code := d.ssh(k, "", "web")
	link := strings.TrimSpace(out)
	if code != 0 || !strings.Contains(link, "/login?t=") {
		d.t.Fatalf("ssh web: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	return link
}
