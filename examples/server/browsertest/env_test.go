package browsertest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/jwtkit/jwtkit/internal/testenv"
)

// The example is built once per test binary.
var build struct {
	once sync.Once
	bin  string
	err  error
	out  []byte
}

// startServer builds examples/server and runs it on a free loopback port
// with args; it returns the base URL.
func startServer(t *testing.T, args ...string) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "jwtkit-browsertest-")
		if err != nil {
			build.err = err
			return
		}
		build.bin = filepath.Join(dir, "server")
		root, _ := filepath.Abs("../../..")
		cmd := exec.Command("go", "build", "-o", build.bin, "./examples/server")
		cmd.Dir = root
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("building examples/server: %v\n%s", build.err, build.out)
	}
	cmd := exec.Command(build.bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	// Only what the server needs: no store, key or Redis settings of the
	// caller's environment.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := regexp.MustCompile(`msg=listening addr=(http://127\.0\.0\.1:\d+)`)
	found := make(chan string, 1)
	logged := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		<-logged // the log ends with the process; Wait closes the pipe
		_ = cmd.Wait()
	})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
			if testing.Verbose() {
				t.Log("server: " + sc.Text())
			}
		}
		close(found)
	}()
	select {
	case base, ok := <-found:
		if !ok {
			t.Fatal("examples/server exited before listening")
		}
		return base
	case <-time.After(60 * time.Second):
		t.Fatal("examples/server did not start listening")
	}
	return ""
}

// chromiumPath finds the browser, or skips (fails under CI=true).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("JWTKIT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.SkipOrFail(t, "no Chromium found (apt-get install chromium, or set JWTKIT_CHROMIUM)")
	return ""
}

// newBrowser starts a headless Chromium with an empty profile and returns
// the context of its first tab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// tab is one browser tab.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context
}

// newTab opens a tab in the browser of parent; its screenshot is saved
// when the test fails.
func newTab(t *testing.T, parent context.Context, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	tb := &tab{t: t, name: name, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening tab %s: %v", name, err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			tb.screenshot()
		}
		cancel()
	})
	return tb
}

func (b *tab) screenshot() {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		b.t.Logf("screenshot of tab %s: %v", b.name, err)
		return
	}
	path := filepath.Join(b.t.ArtifactDir(), strings.ReplaceAll(b.t.Name(), "/", "_")+"-"+b.name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("saving screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot of tab %s: %s (go test -artifacts keeps it)", b.name, path)
}

// wait bounds one step, so that a broken page fails the test instead of
// hanging it.
func (b *tab) wait() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 30*time.Second)
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.wait()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("tab %s: %v", b.name, err)
	}
}

func run[T any](b *tab, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := b.wait()
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("tab %s: %v", b.name, err)
	}
	return v
}

// waitState waits until the page's body has data-state=state.
func (b *tab) waitState(state string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(`body[data-state="` + state + `"]`)))
}

// cookies returns the browser's cookies for url.
func (b *tab) cookies(url string) map[string]*network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		b.t.Fatal(err)
	}
	m := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		m[c.Name] = c
	}
	return m
}
