package authserver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/jwtkit/jwtkit/authserver"
)

// TestCookieEndpointsRefuseCrossOriginRequests sends what browsers send
// for a form POST or a credentialed fetch from another origin, and what
// other clients send, to every cookie endpoint of a session, and checks
// that each refused request left the session as it was.
func TestCookieEndpointsRefuseCrossOriginRequests(t *testing.T) {
	// Another port on the same address: the same site, another origin.
	// SameSite cookies are sent along, so only the origin check stops it.
	other := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(other.Close)
	sameSiteOrigin := other.URL
	crossSiteOrigin := "https://attacker.example"
	loginBody := url.Values{"username": {johnName}, "password": {johnPassword}}.Encode()

	type attempt struct {
		name string
		req  browserReq
		// csrf: send the session's own double-submit token.
		csrf bool
		want int
	}
	attempts := []attempt{
		{"form POST from another site", browserReq{secFetchSite: "cross-site", origin: crossSiteOrigin}, false, http.StatusForbidden},
		{"credentialed fetch from another site", browserReq{secFetchSite: "cross-site", origin: crossSiteOrigin}, true, http.StatusForbidden},
		{"form POST from another port (same site)", browserReq{secFetchSite: "same-site", origin: sameSiteOrigin}, false, http.StatusForbidden},
		{"credentialed fetch from another port (same site)", browserReq{secFetchSite: "same-site", origin: sameSiteOrigin}, true, http.StatusForbidden},
		{"browser without Fetch Metadata, Origin of another port", browserReq{origin: sameSiteOrigin}, false, http.StatusForbidden},
		{"browser without Fetch Metadata, Origin of another site", browserReq{origin: crossSiteOrigin}, false, http.StatusForbidden},
		{"browser without Fetch Metadata, Origin null", browserReq{origin: "null"}, false, http.StatusForbidden},
		{"same-origin with a forged CSRF token", browserReq{secFetchSite: "same-origin", csrf: "AAAAAAAAAAAAAAAAAAAAAAAAAA"}, false, http.StatusForbidden},
		{"neither header, no CSRF token", browserReq{}, false, http.StatusForbidden},
		{"neither header, forged CSRF token", browserReq{csrf: "AAAAAAAAAAAAAAAAAAAAAAAAAA"}, false, http.StatusForbidden},
	}
	for _, endpoint := range []string{"refresh", "logout"} {
		for _, a := range attempts {
			t.Run(endpoint+"/"+a.name, func(t *testing.T) {
				cs := newCookieSite(t, newFixture(t), authserver.CookieConfig{}, nil)
				s := cs.login()
				req := a.req
				if a.csrf {
					req.csrf = s.csrf
				}
				resp := cs.send("/session/"+endpoint, s, req)
				if resp.StatusCode != a.want {
					t.Fatalf("status %d, want %d", resp.StatusCode, a.want)
				}
				if len(resp.Cookies()) != 0 {
					t.Errorf("a refused request touched the cookies: %v", resp.Header.Values("Set-Cookie"))
				}
				// Untouched: the same cookie still rotates once.
				cs.expectSession(cs.send("/session/refresh", s, sameOrigin), s)
			})
		}
	}
	// A login from another origin would plant the attacker's session
	// (login CSRF); the double-submit token does not apply before a
	// session exists.
	for _, a := range attempts[:7] {
		t.Run("login/"+a.name, func(t *testing.T) {
			cs := newCookieSite(t, newFixture(t), authserver.CookieConfig{}, nil)
			req := a.req
			req.body = loginBody
			resp := cs.send("/session/login", nil, req)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", resp.StatusCode)
			}
			if len(resp.Cookies()) != 0 {
				t.Errorf("a refused login set cookies: %v", resp.Header.Values("Set-Cookie"))
			}
		})
	}
}

func TestCookieEndpointsAcceptSameOriginAndDoubleSubmit(t *testing.T) {
	allowed := []struct {
		name string
		req  browserReq
		csrf bool
	}{
		{"same-origin fetch", browserReq{secFetchSite: "same-origin"}, false},
		{"same-origin fetch with its CSRF token", browserReq{secFetchSite: "same-origin"}, true},
		{"user-initiated (Sec-Fetch-Site none)", browserReq{secFetchSite: "none"}, false},
		{"browser without Fetch Metadata, same Origin", browserReq{origin: "SELF"}, false},
		{"neither header, double-submit token", browserReq{}, true},
		{"trusted origin", browserReq{secFetchSite: "cross-site", origin: "https://app.example"}, false},
	}
	for _, endpoint := range []string{"refresh", "logout"} {
		for _, a := range allowed {
			t.Run(endpoint+"/"+a.name, func(t *testing.T) {
				cs := newCookieSite(t, newFixture(t), authserver.CookieConfig{TrustedOrigins: []string{"https://app.example"}}, nil)
				s := cs.login()
				req := a.req
				if a.csrf {
					req.csrf = s.csrf
				}
				if req.origin == "SELF" {
					req.origin = cs.srv.URL
				}
				if resp := cs.send("/session/"+endpoint, s, req); resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d, want 200", resp.StatusCode)
				}
			})
		}
	}
}

func TestCSRFRefusalIsAudited(t *testing.T) {
	var (
		mu    sync.Mutex
		kinds []authserver.AuditKind
	)
	cs := newCookieSite(t, newFixture(t), authserver.CookieConfig{}, func(c *authserver.TokenHandlerConfig) {
		c.Audit = func(_ context.Context, e authserver.AuditEvent) {
			mu.Lock()
			defer mu.Unlock()
			kinds = append(kinds, e.Kind)
		}
	})
	s := cs.login()
	cs.send("/session/logout", s, browserReq{secFetchSite: "cross-site"})
	mu.Lock()
	defer mu.Unlock()
	if got := kinds[len(kinds)-1]; got != authserver.AuditCSRFRefused {
		t.Fatalf("last audit event %q, want %q", got, authserver.AuditCSRFRefused)
	}
}
