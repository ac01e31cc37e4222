package browsertest

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const (
	refreshCookie = "jwtkit-refresh" // plain-http development names
	csrfCookie    = "jwtkit-csrf"
)

// login fills the page's form and waits for the profile.
func (b *tab) login(base string) {
	b.t.Helper()
	b.do(
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`form#login input[name="username"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "johndoe"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "secret"),
		chromedp.Click(chromedp.CSS(`form#login button[type="submit"]`)),
	)
	b.waitState("signed-in")
}

// username is the name the profile shows.
func (b *tab) username() string {
	b.t.Helper()
	return run(b, chromedp.Text(chromedp.ID("username")))
}

func TestBrowserSession(t *testing.T) {
	browser := newBrowser(t)
	base := startServer(t)
	a := newTab(t, browser, "a")

	t.Run("login shows the profile", func(t *testing.T) {
		a.t = t
		a.login(base)
		if got := a.username(); got != "johndoe" {
			t.Fatalf("profile shows %q", got)
		}
	})

	t.Run("no token is readable by the page", func(t *testing.T) {
		a.t = t
		jar := run(a, chromedp.Evaluate[string](`document.cookie`))
		if strings.Contains(jar, "eyJ") || strings.Contains(jar, refreshCookie) || strings.Contains(jar, csrfCookie) {
			t.Fatalf("document.cookie = %q", jar)
		}
		storage := run(a, chromedp.Evaluate[string](`JSON.stringify(localStorage) + JSON.stringify(sessionStorage)`))
		if strings.Contains(storage, "eyJ") {
			t.Fatalf("web storage holds a token: %s", storage)
		}
		c := a.cookies(base + "/session/refresh")[refreshCookie]
		if c == nil || !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/session/" || c.Session {
			t.Fatalf("refresh cookie %+v", c)
		}
		if _, ok := a.cookies(base + "/users/me")[refreshCookie]; ok {
			t.Error("the refresh cookie is sent to /users/me")
		}
	})

	t.Run("reload keeps the session", func(t *testing.T) {
		a.t = t
		before := a.cookies(base + "/session/")[refreshCookie].Value
		a.do(chromedp.Reload())
		a.waitState("signed-in")
		if got := a.username(); got != "johndoe" {
			t.Fatalf("profile shows %q after reload", got)
		}
		if after := a.cookies(base + "/session/")[refreshCookie].Value; after == before {
			t.Error("the reload did not rotate the refresh cookie")
		}
	})

	b := newTab(t, browser, "b")
	t.Run("a second tab joins the session", func(t *testing.T) {
		a.t, b.t = t, t
		b.do(chromedp.Navigate(base + "/"))
		b.waitState("signed-in")
		if got := b.username(); got != "johndoe" {
			t.Fatalf("tab b shows %q", got)
		}
	})

	t.Run("two tabs refreshing together both keep working", func(t *testing.T) {
		a.t, b.t = t, t
		for round := 0; round < 3; round++ {
			// Each reload refreshes from the same cookie jar at once.
			var wg sync.WaitGroup
			for _, tb := range []*tab{a, b} {
				wg.Go(func() {
					ctx, cancel := tb.wait()
					defer cancel()
					if err := chromedp.Do(ctx, chromedp.Reload(),
						chromedp.WaitVisible(chromedp.CSS(`body:not([data-state="loading"])`))); err != nil {
						t.Errorf("round %d, tab %s: %v", round, tb.name, err)
						return
					}
					if state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.state`)); err != nil || state != "signed-in" {
						t.Errorf("round %d, tab %s: %q after the reload (%v)", round, tb.name, state, err)
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
		}
		for _, tb := range []*tab{a, b} {
			if got := tb.username(); got != "johndoe" {
				t.Errorf("tab %s shows %q", tb.name, got)
			}
		}
	})

	t.Run("pages from other origins are refused", func(t *testing.T) {
		a.t = t
		attacks(t, browser, a, base)
	})

	t.Run("logout ends the session in every tab", func(t *testing.T) {
		a.t, b.t = t, t
		// Tab b's access token, as it sends it (the page keeps it in
		// memory only).
		bAccess := b.bearerAfterReload(base + "/users/me")
		old := a.cookies(base + "/session/")[refreshCookie]
		a.do(chromedp.Click(chromedp.ID("logout")))
		a.waitState("signed-out")
		b.waitState("signed-out") // told by the other tab
		if status := getStatus(t, base+"/users/me", bAccess); status != http.StatusUnauthorized {
			t.Errorf("tab b's access token after the logout in tab a: %d, want 401", status)
		}
		if _, ok := a.cookies(base + "/session/")[refreshCookie]; ok {
			t.Error("the refresh cookie outlived the logout")
		}
		b.do(chromedp.Reload())
		b.waitState("signed-out")
		// The server ended the session too: the old cookie, put back,
		// opens nothing.
		if _, err := chromedp.Call(b.ctx, network.SetCookie, network.SetCookieParams{
			Name: refreshCookie, Value: old.Value, URL: base + "/session/", Path: "/session/",
			HTTPOnly: new(true), SameSite: network.CookieSameSiteStrict,
		}); err != nil {
			t.Fatal(err)
		}
		b.do(chromedp.Reload())
		b.waitState("signed-out")
	})
}

// TestBrowserSilentRefresh: the page refreshes its short-lived access
// token before it expires, without any user action.
func TestBrowserSilentRefresh(t *testing.T) {
	browser := newBrowser(t)
	base := startServer(t, "-access-ttl", "4s")
	a := newTab(t, browser, "a")
	a.login(base)
	a.do(chromedp.WaitVisible(chromedp.CSS(`body[data-refreshes="2"]`)))
	a.waitState("signed-in")
	if got := a.username(); got != "johndoe" {
		t.Fatalf("profile shows %q after two silent refreshes", got)
	}
}

// attackPage is what a page on another origin serves: a form that submits
// itself, or a credentialed fetch, to target.
var attackPage = template.Must(template.New("").Parse(`<!doctype html>
<title>attack</title>
{{if .Form}}<form id="f" method="post" action="{{.Target}}">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
</form>
<script>document.getElementById('f').submit()</script>
{{else}}<script>
fetch({{.Target}}, {method: 'POST', credentials: 'include', mode: 'no-cors',
  headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: {{.Body}}})
  .finally(() => { document.title = 'sent' })
</script>{{end}}`))

type attackSpec struct {
	Form   bool
	Target string
	Fields map[string]string
	Body   string
}

// attacks serves attack pages on another loopback port and opens each, as
// the same site (127.0.0.1, another port) and as another site
// (localhost), against every endpoint that could act on the cookie. Each
// must be refused and leave the session as it was.
func attacks(t *testing.T, browser context.Context, victim *tab, base string) {
	var mu sync.Mutex
	specs := map[string]attackSpec{}
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		s, ok := specs[r.URL.Query().Get("id")]
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = attackPage.Execute(w, s)
	}))
	t.Cleanup(attacker.Close)
	port := attacker.URL[strings.LastIndex(attacker.URL, ":")+1:]
	origins := []struct{ name, origin string }{
		{"same site, another port", "http://127.0.0.1:" + port},
		{"another site", "http://localhost:" + port},
	}
	creds := map[string]string{"username": "johndoe", "password": "secret"}
	targets := []struct {
		path   string
		fields map[string]string
		want   int
	}{
		{"/session/refresh", nil, http.StatusForbidden},
		{"/session/logout", nil, http.StatusForbidden},
		{"/session/login", creds, http.StatusForbidden},
		{"/token", map[string]string{"grant_type": "refresh_token"}, http.StatusBadRequest}, // reads no cookie
		{"/logout", nil, http.StatusUnauthorized},                                           // reads no cookie
	}
	evil := newTab(t, browser, "attacker")
	n := 0
	for _, o := range origins {
		for _, tg := range targets {
			for _, form := range []bool{true, false} {
				kind := "credentialed fetch"
				if form {
					kind = "auto-submitted form"
				}
				name := fmt.Sprintf("%s from %s to %s", kind, o.name, tg.path)
				n++
				id := fmt.Sprint(n)
				vals := url.Values{}
				for k, v := range tg.fields {
					vals.Set(k, v)
				}
				mu.Lock()
				specs[id] = attackSpec{Form: form, Target: base + tg.path, Fields: tg.fields, Body: vals.Encode()}
				mu.Unlock()

				before := victim.cookies(base + "/session/")
				status := evil.visit(o.origin+"/?id="+id, base+tg.path)
				after := victim.cookies(base + "/session/")
				result := "refused"
				if status != tg.want {
					result = "NOT REFUSED"
					t.Errorf("%s: status %d, want %d", name, status, tg.want)
				}
				for _, c := range []string{refreshCookie, csrfCookie} {
					if before[c] == nil || after[c] == nil || before[c].Value != after[c].Value {
						result += ", session changed"
						t.Errorf("%s: cookie %s changed", name, c)
					}
				}
				t.Logf("%-70s -> %d %s", name, status, result)
			}
		}
	}
	// The victim's session still works.
	victim.do(chromedp.Reload())
	victim.waitState("signed-in")
}

// visit opens page in the tab and returns the status of the first
// response from target.
func (b *tab) visit(page, target string) int {
	b.t.Helper()
	ctx, cancel := b.wait()
	defer cancel()
	responses := chromedp.Events(ctx, network.ResponseReceived)
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		b.t.Fatalf("opening %s: %v", page, err)
	}
	for ev, err := range responses {
		if err != nil {
			b.t.Fatalf("waiting for the response of %s: %v", target, err)
		}
		if ev.Response.URL == target {
			return int(ev.Response.Status)
		}
	}
	return 0
}

// bearerAfterReload reloads the tab and returns the Authorization header
// of its first request to url.
func (b *tab) bearerAfterReload(url string) string {
	b.t.Helper()
	ctx, cancel := b.wait()
	defer cancel()
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		b.t.Fatal(err)
	}
	for ev, err := range requests {
		if err != nil {
			b.t.Fatalf("waiting for a request to %s: %v", url, err)
		}
		if ev.Request.URL == url {
			auth, _ := ev.Request.Headers["Authorization"].(string)
			if !strings.HasPrefix(auth, "Bearer ") {
				b.t.Fatalf("request to %s without a bearer token", url)
			}
			b.waitState("signed-in")
			return auth
		}
	}
	return ""
}

// getStatus sends GET url with the Authorization header auth.
func getStatus(t *testing.T, url, auth string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
