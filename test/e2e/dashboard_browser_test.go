package e2e

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Browser is a headless Chromium tab driven by the test. It records every
// request the page makes and every uncaught exception in it.
type Browser struct {
	t   *testing.T
	ctx context.Context

	mu         sync.Mutex
	requests   []string // URLs, in order
	exceptions []string
	shots      string // folder of the screenshots
}

// chromiumPath returns the browser to drive: $FERRY_CHROMIUM_BIN, else
// Debian's chromium from PATH. The test is skipped when there is none,
// unless FERRY_CHROMIUM_REQUIRED is set (make e2e sets it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("FERRY_CHROMIUM_BIN"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("FERRY_CHROMIUM_REQUIRED") != "" {
		t.Fatal("no chromium: run test/chromium/ensure-chromium.sh or set FERRY_CHROMIUM_BIN")
	}
	t.Skip("no chromium (test/chromium/ensure-chromium.sh installs it; FERRY_CHROMIUM_BIN points at one)")
	return ""
}

// NewBrowser starts headless Chromium with a 1280×900 window. It resolves
// no host name (every name fails), so nothing but loopback addresses can
// be reached; the test still checks the page's requests itself.
func NewBrowser(t *testing.T) *Browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("font-render-hinting", "none"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &Browser{t: t, ctx: ctx, shots: screenshotDir(t)}
	if err := chromedp.Do(ctx); err != nil { // start the browser and the tab
		t.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.mu.Lock()
			b.requests = append(b.requests, e.Request.URL)
			b.mu.Unlock()
		case *runtime.EventExceptionThrown:
			b.mu.Lock()
			d := e.ExceptionDetails
			msg := fmt.Sprintf("%s:%d:%d: %s", d.URL, d.LineNumber+1, d.ColumnNumber+1, d.Text)
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.exceptions = append(b.exceptions, msg)
			b.mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("listen: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("network.enable: %v", err)
	}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.exceptions {
			t.Errorf("uncaught exception in the page: %s", e)
		}
	})
	return b
}

// screenshotDir is where screenshots go: $FERRY_SCREENSHOT_DIR/<test>,
// else the test's artifact folder with -artifacts, else a folder under the
// temporary directory that is kept, printed in the log.
func screenshotDir(t *testing.T) string {
	name := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_")
	var dir string
	switch {
	case os.Getenv("FERRY_SCREENSHOT_DIR") != "":
		dir = filepath.Join(os.Getenv("FERRY_SCREENSHOT_DIR"), name)
	case flag.Lookup("test.artifacts") != nil && flag.Lookup("test.artifacts").Value.String() == "true":
		dir = t.ArtifactDir()
	default:
		dir = filepath.Join(os.TempDir(), "ferry-dashboard-screenshots", name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// Do runs actions, failing the test on an error.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// Eval evaluates a JavaScript expression.
func Eval[T any](b *Browser, expr string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// WaitFor polls a JavaScript expression until it is true and returns how
// long that took; it fails the test after d.
func (b *Browser) WaitFor(what, expr string, d time.Duration) time.Duration {
	b.t.Helper()
	start := time.Now()
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return time.Since(start)
		}
		if time.Since(start) > d {
			b.Screenshot("timeout-" + strings.ReplaceAll(what, " ", "-"))
			b.t.Fatalf("browser: %s not true within %s (%v); page text:\n%s", what, d, err, tail(Eval[string](b, "document.body.innerText"), 3000))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Text returns the visible text of the first element matching a CSS selector.
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	return Eval[string](b, `(document.querySelector(`+jsString(selector)+`) || {innerText: ''}).innerText`)
}

// Screenshot saves a PNG of the whole page as name.png.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
	}
	return path
}

// Press presses and releases one printable key the way a keyboard does:
// the key down carries its text, so a page that cancels the key down
// (a shortcut) gets no character typed. (chromedp.KeyEvent sends the text
// in a separate char event, which a page cannot cancel.)
func (b *Browser) Press(key, code string, keyCode int64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: key, Code: code, Text: key,
		UnmodifiedText: key, WindowsVirtualKeyCode: keyCode, NativeVirtualKeyCode: keyCode}
	up := down
	up.Type, up.Text, up.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
	for _, ev := range []input.DispatchKeyEventParams{down, up} {
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, ev); err != nil {
			b.t.Fatalf("press %s: %v", key, err)
		}
	}
}

// Viewport sets the window's size; mobile emulates a phone.
func (b *Browser) Viewport(width, height int64, mobile bool) {
	b.t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))
	}
	b.Do(chromedp.EmulateViewport(width, height, opts...))
}

// ColorScheme emulates prefers-color-scheme: "dark" or "light".
func (b *Browser) ColorScheme(scheme string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
		b.t.Fatalf("emulate %s: %v", scheme, err)
	}
}

// CheckOnlyHost fails the test if the page requested anything from
// another host than host (host:port).
func (b *Browser) CheckOnlyHost(host string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.requests) == 0 {
		b.t.Fatal("the network log is empty")
	}
	for _, raw := range b.requests {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "data" && u.Host != host) {
			b.t.Errorf("the page requested %s, outside Ferry (%s)", raw, host)
		}
	}
	b.t.Logf("%d requests, every one to %s", len(b.requests), host)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`)
	return "'" + r.Replace(s) + "'"
}
