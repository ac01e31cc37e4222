package authserver_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzTokenEndpoint sends arbitrary methods, targets, content types and
// bodies to the token, refresh, revoke and logout endpoints. Property:
// no panic, no 500; the status is one the endpoints document; every
// answer is JSON (or the empty 200 of /revoke) and not cacheable; a 200
// from the token endpoint carries tokens that verify.
func FuzzTokenEndpoint(f *testing.F) {
	fx := newFixture(f)
	h := fx.tokenHandler(f, nil)
	endpoints := map[string]http.Handler{
		"/token": h, "/refresh": h.RefreshHandler(), "/revoke": h.RevokeHandler(), "/logout": h.LogoutHandler(),
	}
	const form = "application/x-www-form-urlencoded"
	f.Add("/token", "POST", form, "grant_type=password&username=johndoe&password=secret")
	f.Add("/token", "POST", form, "username=johndoe&password=secret&scope=read")
	f.Add("/token", "POST", form, "grant_type=refresh_token&refresh_token=a.b.c")
	f.Add("/refresh", "POST", "application/json", `{"refresh_token":"x"}`)
	f.Add("/revoke", "POST", form, "token=x&token_type_hint=refresh_token")
	f.Add("/logout", "POST", form, "refresh_token=x")
	allowed := map[int]bool{200: true, 400: true, 401: true, 405: true, 413: true, 415: true, 429: true, 503: true}

	f.Fuzz(func(t *testing.T, target, method, contentType, body string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		r, err := http.NewRequestWithContext(t.Context(), method, "http://test"+u.RequestURI(), strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		ep := endpoints[u.Path]
		if ep == nil {
			ep = h
		}
		rec := httptest.NewRecorder()
		ep.ServeHTTP(rec, r)

		if !allowed[rec.Code] {
			t.Fatalf("%s %q (%q, %q): status %d, body %q", method, target, contentType, body, rec.Code, rec.Body.String())
		}
		if rec.Code == 200 && u.Path == "/revoke" {
			if rec.Body.Len() != 0 {
				t.Fatalf("revoke answered a body: %q", rec.Body.String())
			}
			return
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("status %d: body %q is not a JSON object", rec.Code, rec.Body.String())
		}
		if rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("Content-Type %q", rec.Header().Get("Content-Type"))
		}
		if (u.Path != "/logout" || rec.Code == 200) && rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("status %d without Cache-Control: no-store", rec.Code)
		}
		if rec.Code == 200 && u.Path != "/logout" {
			at, _ := m["access_token"].(string)
			if _, err := fx.verifier.VerifyAccess(t.Context(), at); err != nil {
				t.Fatalf("200 with an access token that does not verify: %v", err)
			}
			if u.Query().Has("password") || u.Query().Has("refresh_token") {
				t.Fatalf("token issued for credentials in the query: %q", target)
			}
		}
	})
}
