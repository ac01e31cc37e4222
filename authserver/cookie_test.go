package authserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtkit/jwtkit/authserver"
	"github.com/jwtkit/jwtkit/store"
)

// cookieSite is a service with the JSON endpoints and browser sessions
// under /session/, served on a real loopback port.
type cookieSite struct {
	t    *testing.T
	srv  *httptest.Server
	h    *authserver.TokenHandler
	mux  *http.ServeMux
	name string // refresh cookie name
}

func newCookieSite(t *testing.T, f *fixture, cc authserver.CookieConfig, mod func(*authserver.TokenHandlerConfig)) *cookieSite {
	t.Helper()
	return newCookieSiteOn(t, f, cc, mod, false)
}

// newCookieSiteOn with inProcess serves requests without a listener (for
// synctest bubbles).
func newCookieSiteOn(t *testing.T, f *fixture, cc authserver.CookieConfig, mod func(*authserver.TokenHandlerConfig), inProcess bool) *cookieSite {
	t.Helper()
	if cc.Path == "" {
		cc.Path = "/session/"
	}
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
		c.Cookies = &cc
		if mod != nil {
			mod(c)
		}
	})
	mux := http.NewServeMux()
	mux.Handle("POST /token", h)
	mux.Handle("POST /refresh", h.RefreshHandler())
	mux.Handle("POST /logout", h.LogoutHandler())
	mux.Handle(cc.Path, h.CookieHandler())
	name := "__Secure-jwtkit-refresh"
	if cc.InsecureHTTP {
		name = "jwtkit-refresh"
	}
	cs := &cookieSite{t: t, h: h, name: name, mux: mux}
	if !inProcess {
		cs.srv = httptest.NewServer(mux)
		t.Cleanup(cs.srv.Close)
	}
	return cs
}

// browserReq describes what a browser (or another client) sends besides
// the cookies: the Fetch Metadata and Origin headers, the double-submit
// header, and the body.
type browserReq struct {
	secFetchSite string
	origin       string
	csrf         string // X-CSRF-Token; "" sends none
	body         string
}

type session struct {
	cookies map[string]*http.Cookie
	csrf    string
	access  string
}

// send posts to path with the cookies of s (nil: none).
func (cs *cookieSite) send(path string, s *session, b browserReq) *http.Response {
	cs.t.Helper()
	base := "http://127.0.0.1:8000"
	if cs.srv != nil {
		base = cs.srv.URL
	}
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(b.body))
	if err != nil {
		cs.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if b.secFetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", b.secFetchSite)
	}
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	if b.csrf != "" {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	if s != nil {
		for _, c := range s.cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	if cs.srv == nil {
		rec := httptest.NewRecorder()
		cs.mux.ServeHTTP(rec, req)
		return rec.Result()
	}
	resp, err := cs.srv.Client().Do(req)
	if err != nil {
		cs.t.Fatal(err)
	}
	cs.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

var sameOrigin = browserReq{secFetchSite: "same-origin"}

// login starts a cookie session as a same-origin page would.
func (cs *cookieSite) login() *session {
	cs.t.Helper()
	b := sameOrigin
	b.body = url.Values{"username": {johnName}, "password": {johnPassword}}.Encode()
	return cs.expectSession(cs.send("/session/login", nil, b), nil)
}

// expectSession checks a 200 session answer and returns the session its
// cookies make, on top of prev.
func (cs *cookieSite) expectSession(resp *http.Response, prev *session) *session {
	cs.t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		cs.t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	var tb struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		CSRFToken    string `json:"csrf_token"`
	}
	if err := json.Unmarshal(body, &tb); err != nil {
		cs.t.Fatal(err)
	}
	if tb.RefreshToken != "" {
		cs.t.Errorf("the body carries the refresh token: %s", body)
	}
	if tb.CSRFToken == "" {
		cs.t.Errorf("the body carries no csrf_token: %s", body)
	}
	s := &session{cookies: map[string]*http.Cookie{}, csrf: tb.CSRFToken, access: tb.AccessToken}
	if prev != nil {
		for k, v := range prev.cookies {
			s.cookies[k] = v
		}
	}
	for _, c := range resp.Cookies() {
		s.cookies[c.Name] = c
	}
	return s
}

func (s *session) refreshCookie(name string) string {
	if c := s.cookies[name]; c != nil {
		return c.Value
	}
	return ""
}

func cookieMap(resp *http.Response) map[string]*http.Cookie {
	m := map[string]*http.Cookie{}
	for _, c := range resp.Cookies() {
		m[c.Name] = c
	}
	return m
}

func TestCookieSessionCookiesAreHardened(t *testing.T) {
	const family = 3 * time.Hour
	tests := []struct {
		name     string
		cc       authserver.CookieConfig
		want     map[string]string // cookie name → Path
		secure   bool
		sameSite http.SameSite
		access   bool // the access token is in a cookie, not the body
	}{
		{"default", authserver.CookieConfig{Path: "/session/"},
			map[string]string{"__Secure-jwtkit-refresh": "/session/", "__Host-jwtkit-csrf": "/"}, true, http.SameSiteStrictMode, false},
		{"root path takes __Host-", authserver.CookieConfig{Path: "/"},
			map[string]string{"__Host-jwtkit-refresh": "/", "__Host-jwtkit-csrf": "/"}, true, http.SameSiteStrictMode, false},
		{"lax and access cookie", authserver.CookieConfig{Path: "/session/", SameSite: http.SameSiteLaxMode, AccessCookie: true},
			map[string]string{"__Secure-jwtkit-refresh": "/session/", "__Host-jwtkit-csrf": "/", "__Host-jwtkit-access": "/"}, true, http.SameSiteLaxMode, true},
		{"plain-http development", authserver.CookieConfig{Path: "/session/", InsecureHTTP: true},
			map[string]string{"jwtkit-refresh": "/session/", "jwtkit-csrf": "/"}, false, http.SameSiteStrictMode, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Cookies = &tt.cc; c.FamilyTTL = family })
			r := httptest.NewRequest(http.MethodPost, tt.cc.Path+"login",
				strings.NewReader(url.Values{"username": {johnName}, "password": {johnPassword}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			r.Host = "127.0.0.1:8000"
			rec := httptest.NewRecorder()
			start := time.Now()
			h.CookieHandler().ServeHTTP(rec, r)
			// The session's lifetime runs from the start of the password
			// check, so the cookie's Max-Age is short by up to the time
			// the login took (seconds under the race detector).
			slack := int(time.Since(start)/time.Second) + 2
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
			got := cookieMap(rec.Result())
			if len(got) != len(tt.want) {
				t.Errorf("cookies %v, want %v", rec.Header().Values("Set-Cookie"), tt.want)
			}
			for name, path := range tt.want {
				c := got[name]
				if c == nil {
					t.Errorf("no cookie %s in %v", name, rec.Header().Values("Set-Cookie"))
					continue
				}
				if c.Path != path || !c.HttpOnly || c.Secure != tt.secure || c.SameSite != tt.sameSite || c.Domain != "" {
					t.Errorf("%s: %q", name, c.Raw)
				}
				wantAge := int(family / time.Second)
				if name == "__Host-jwtkit-access" {
					wantAge = int((15 * time.Minute) / time.Second)
				}
				if c.MaxAge < wantAge-slack || c.MaxAge > wantAge {
					t.Errorf("%s: Max-Age %d, want %d", name, c.MaxAge, wantAge)
				}
			}
			var body map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if _, ok := body["refresh_token"]; ok {
				t.Errorf("body holds refresh_token: %s", rec.Body)
			}
			if _, ok := body["access_token"]; ok == tt.access {
				t.Errorf("access cookie %v, body %s", tt.access, rec.Body)
			}
		})
	}
}

func TestCookieSessionRefusedConfigurations(t *testing.T) {
	f := newFixture(t)
	tests := map[string]func(*authserver.TokenHandlerConfig){
		"no refresh store":   func(c *authserver.TokenHandlerConfig) { c.Refresh = nil },
		"empty path":         func(c *authserver.TokenHandlerConfig) { c.Cookies.Path = "" },
		"path without slash": func(c *authserver.TokenHandlerConfig) { c.Cookies.Path = "/session" },
		"path with ;":        func(c *authserver.TokenHandlerConfig) { c.Cookies.Path = "/a;b/" },
		"SameSite=None":      func(c *authserver.TokenHandlerConfig) { c.Cookies.SameSite = http.SameSiteNoneMode },
		"bad trusted origin": func(c *authserver.TokenHandlerConfig) { c.Cookies.TrustedOrigins = []string{"evil.example"} },
	}
	for name, mod := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := authserver.TokenHandlerConfig{Users: f.store, Issuer: f.issuer, Verifier: f.verifier, Refresh: f.store,
				Cookies: &authserver.CookieConfig{Path: "/session/"}}
			mod(&cfg)
			if _, err := authserver.NewTokenHandler(cfg); !errors.Is(err, authserver.ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
}

func TestCookieRefreshRotatesTheCookie(t *testing.T) {
	cs := newCookieSite(t, newFixture(t), authserver.CookieConfig{}, nil)
	s := cs.login()
	s2 := cs.expectSession(cs.send("/session/refresh", s, sameOrigin), s)
	if s2.refreshCookie(cs.name) == s.refreshCookie(cs.name) || s2.refreshCookie(cs.name) == "" {
		t.Fatal("the refresh cookie did not rotate")
	}
	if s2.csrf != s.csrf {
		t.Error("the CSRF token changed at refresh: other tabs would lose it")
	}
	cs.expectSession(cs.send("/session/refresh", s2, sameOrigin), s2)
}

// checkCleared asserts that resp deletes the session cookies.
func checkCleared(t *testing.T, resp *http.Response, names ...string) {
	t.Helper()
	got := cookieMap(resp)
	for _, n := range names {
		if c := got[n]; c == nil || c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("cookie %s not cleared: %v", n, resp.Header.Values("Set-Cookie"))
		}
	}
}

func TestCookieReplayEndsTheSessionAndClearsTheCookie(t *testing.T) {
	cs := newCookieSite(t, newFixture(t), authserver.CookieConfig{}, nil)
	s := cs.login()
	s2 := cs.expectSession(cs.send("/session/refresh", s, sameOrigin), s)
	s3 := cs.expectSession(cs.send("/session/refresh", s2, sameOrigin), s2)
	// The old cookie again, after its successor was used: reuse.
	resp := cs.send("/session/refresh", s, sameOrigin)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("replay: status %d", resp.StatusCode)
	}
	checkCleared(t, resp, cs.name, "__Host-jwtkit-csrf")
	if resp := cs.send("/session/refresh", s3, sameOrigin); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("the successor still refreshes after reuse: %d", resp.StatusCode)
	}
}

func TestCookieGraceRetryKeepsTheSessionAndLaterReplayEndsIt(t *testing.T) {
	// A client lost the response to a refresh and sends the same cookie
	// again: with a grace window that is a retry, not reuse, and the
	// retry's cookie is the current one; a replay after the window still
	// ends the session.
	synctest.Test(t, func(t *testing.T) {
		cs := newCookieSiteOn(t, newFixture(t), authserver.CookieConfig{}, func(c *authserver.TokenHandlerConfig) {
			c.Grace = 10 * time.Second
		}, true)
		s := cs.login()
		cs.expectSession(cs.send("/session/refresh", s, sameOrigin), s)
		second := cs.expectSession(cs.send("/session/refresh", s, sameOrigin), s)
		third := cs.expectSession(cs.send("/session/refresh", second, sameOrigin), second)
		time.Sleep(11 * time.Second)
		if resp := cs.send("/session/refresh", second, sameOrigin); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a replay after the grace window: status %d, want 400", resp.StatusCode)
		}
		if resp := cs.send("/session/refresh", third, sameOrigin); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("the session survived a replay: status %d, want 400", resp.StatusCode)
		}
	})
}

func TestCookieLogoutEndsTheSessionAndClearsTheCookies(t *testing.T) {
	cs := newCookieSite(t, newFixture(t), authserver.CookieConfig{}, nil)
	s := cs.login()
	resp := cs.send("/session/logout", s, sameOrigin)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	checkCleared(t, resp, cs.name, "__Host-jwtkit-csrf")
	if resp := cs.send("/session/refresh", s, sameOrigin); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("refresh after logout: %d", resp.StatusCode)
	}
	resp = cs.send("/session/logout", s, sameOrigin)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("repeated logout: %d", resp.StatusCode)
	}
	checkCleared(t, resp, cs.name)
	if resp := cs.send("/session/refresh", nil, sameOrigin); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("refresh without a cookie: %d", resp.StatusCode)
	}
	resp = cs.send("/session/logout", nil, sameOrigin)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("logout without a session: %d", resp.StatusCode)
	}
	checkCleared(t, resp, cs.name)
}

func TestCookieTwoRefreshCookiesAreRefused(t *testing.T) {
	cs := newCookieSite(t, newFixture(t), authserver.CookieConfig{}, nil)
	s := cs.login()
	other := cs.login()
	req, _ := http.NewRequest(http.MethodPost, cs.srv.URL+"/session/refresh", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(&http.Cookie{Name: cs.name, Value: other.refreshCookie(cs.name)})
	req.AddCookie(&http.Cookie{Name: cs.name, Value: s.refreshCookie(cs.name)})
	resp, err := cs.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
}

func TestCookieInsecureHTTPServesLoopbackHostsOnly(t *testing.T) {
	f := newFixture(t)
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) {
		c.Cookies = &authserver.CookieConfig{Path: "/s/", InsecureHTTP: true}
	})
	for host, want := range map[string]int{
		"127.0.0.1:8000": http.StatusOK, "localhost:8000": http.StatusOK, "[::1]:8000": http.StatusOK,
		"127.0.0.1": http.StatusOK, "app.example.com": http.StatusForbidden, "10.0.0.1:8000": http.StatusForbidden,
	} {
		r := httptest.NewRequest(http.MethodPost, "/s/login", strings.NewReader("username=johndoe&password=secret"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Host = host
		rec := httptest.NewRecorder()
		h.CookieHandler().ServeHTTP(rec, r)
		if rec.Code != want {
			t.Errorf("Host %s: status %d, want %d", host, rec.Code, want)
		}
	}
}

func TestCookieHandlerUnknownPathsAndMethods(t *testing.T) {
	f := newFixture(t)
	unconfigured := f.tokenHandler(t, nil)
	h := f.tokenHandler(t, func(c *authserver.TokenHandlerConfig) { c.Cookies = &authserver.CookieConfig{Path: "/s/"} })
	for _, tt := range []struct {
		h            http.Handler
		method, path string
		want         int
	}{
		{unconfigured.CookieHandler(), http.MethodPost, "/s/login", http.StatusNotFound},
		{h.CookieHandler(), http.MethodPost, "/s/other", http.StatusNotFound},
		{h.CookieHandler(), http.MethodPost, "/elsewhere/login", http.StatusNotFound},
		{h.CookieHandler(), http.MethodGet, "/s/refresh", http.StatusMethodNotAllowed},
	} {
		rec := httptest.NewRecorder()
		tt.h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, rec.Code, tt.want)
		}
	}
}

func TestJSONEndpointsNeverReadSessionCookies(t *testing.T) {
	cs := newCookieSite(t, newFixture(t), authserver.CookieConfig{}, nil)
	s := cs.login()
	for _, tt := range []struct {
		path, body string
		want       int
	}{
		{"/token", "grant_type=refresh_token", http.StatusBadRequest},
		{"/refresh", "", http.StatusBadRequest},
		{"/logout", "", http.StatusUnauthorized},
	} {
		if resp := cs.send(tt.path, s, browserReq{body: tt.body}); resp.StatusCode != tt.want {
			t.Errorf("%s with only the cookie: %d, want %d", tt.path, resp.StatusCode, tt.want)
		}
	}
	cs.expectSession(cs.send("/session/refresh", s, sameOrigin), s)
}

// revokeDown is a refresh store whose RevokeFamily fails.
type revokeDown struct{ store.RefreshTokens }

func (revokeDown) RevokeFamily(context.Context, string, string) error { return store.ErrUnavailable }

func TestCookieLogoutThatFailsKeepsTheCookiesForARetry(t *testing.T) {
	f := newFixture(t)
	cs := newCookieSite(t, f, authserver.CookieConfig{}, func(c *authserver.TokenHandlerConfig) {
		c.Refresh = revokeDown{f.store}
	})
	s := cs.login()
	resp := cs.send("/session/logout", s, sameOrigin)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("logout with the store down: %d", resp.StatusCode)
	}
	if len(resp.Cookies()) != 0 {
		t.Errorf("a failed logout cleared the cookies: %v", resp.Header.Values("Set-Cookie"))
	}
}

func TestCookieLoginEndsTheSessionItReplaces(t *testing.T) {
	cs := newCookieSite(t, newFixture(t), authserver.CookieConfig{}, nil)
	old := cs.login()
	b := sameOrigin
	b.body = url.Values{"username": {johnName}, "password": {johnPassword}}.Encode()
	fresh := cs.expectSession(cs.send("/session/login", old, b), nil)
	if resp := cs.send("/session/refresh", old, sameOrigin); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("the replaced session still refreshes: %d", resp.StatusCode)
	}
	cs.expectSession(cs.send("/session/refresh", fresh, sameOrigin), fresh)
}
