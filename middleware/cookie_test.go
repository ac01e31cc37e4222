package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
)

const (
	accessCookie = "__Host-jwtkit-access"
	csrfCookie   = "__Host-jwtkit-csrf"
	csrfValue    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

func TestWithCookieReadsTheAccessTokenUnderCSRFProtection(t *testing.T) {
	f := newFixture(t)
	tok := f.access(t, jwt.Grant{Subject: johnID})
	other := f.access(t, jwt.Grant{Subject: johnID})
	next := &protectedHandler{}
	cache, err := middleware.NewTokenCache(middleware.TokenCacheConfig{})
	if err != nil {
		t.Fatal(err)
	}
	handlers := map[string]http.Handler{
		"":               middleware.RequireBearer(f.verifier, middleware.WithCookie(accessCookie, csrfCookie, "https://app.example"))(next),
		" (token cache)": middleware.RequireBearer(f.verifier, middleware.WithCookie(accessCookie, csrfCookie, "https://app.example"), middleware.WithTokenCache(cache))(next),
	}

	// A signature that differs from the token's (its last two characters
	// replaced; "AA" itself would leave one token in 4,096 unchanged).
	badSig := tok[:len(tok)-2] + "AA"
	if badSig == tok {
		badSig = tok[:len(tok)-2] + "QA"
	}

	tests := []struct {
		name    string
		method  string
		header  string   // Authorization
		cookies []string // access cookie values
		csrf    string   // X-CSRF-Token
		site    string   // Sec-Fetch-Site
		origin  string
		want    int
	}{
		{"GET with the cookie alone", http.MethodGet, "", []string{tok}, "", "", "", http.StatusOK},
		{"GET from another site", http.MethodGet, "", []string{tok}, "", "cross-site", "https://attacker.example", http.StatusOK},
		{"same-origin POST with the cookie", http.MethodPost, "", []string{tok}, "", "same-origin", "", http.StatusOK},
		{"cross-site form POST with the cookie", http.MethodPost, "", []string{tok}, "", "cross-site", "https://attacker.example", http.StatusForbidden},
		{"same-site POST from another port", http.MethodPost, "", []string{tok}, "", "same-site", "http://127.0.0.1:9999", http.StatusForbidden},
		{"POST without Fetch Metadata, Origin of another port", http.MethodPost, "", []string{tok}, "", "", "http://127.0.0.1:9999", http.StatusForbidden},
		{"POST from a trusted origin", http.MethodPost, "", []string{tok}, "", "cross-site", "https://app.example", http.StatusOK},
		{"POST with neither header nor CSRF token", http.MethodPost, "", []string{tok}, "", "", "", http.StatusForbidden},
		{"POST with neither header, forged CSRF token", http.MethodPost, "", []string{tok}, "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "", "", http.StatusForbidden},
		{"POST with neither header, double-submit token", http.MethodPost, "", []string{tok}, csrfValue, "", "", http.StatusOK},
		{"header alone", http.MethodPost, "Bearer " + tok, nil, "", "cross-site", "", http.StatusOK},
		{"header and the same cookie", http.MethodPost, "Bearer " + tok, []string{tok}, "", "cross-site", "", http.StatusOK},
		{"header and a different cookie", http.MethodGet, "Bearer " + tok, []string{other}, "", "", "", http.StatusBadRequest},
		{"two access cookies", http.MethodGet, "", []string{tok, other}, "", "", "", http.StatusBadRequest},
		{"malformed cookie", http.MethodGet, "", []string{"not a token"}, "", "", "", http.StatusUnauthorized},
		{"invalid cookie", http.MethodGet, "", []string{badSig}, "", "", "", http.StatusUnauthorized},
		{"no credentials", http.MethodGet, "", nil, "", "", "", http.StatusUnauthorized},
	}
	for suffix, h := range handlers {
		for _, tt := range tests {
			t.Run(tt.name+suffix, func(t *testing.T) {
				r := httptest.NewRequest(tt.method, "http://api.test/items", nil)
				if tt.header != "" {
					r.Header.Set("Authorization", tt.header)
				}
				for _, v := range tt.cookies {
					r.AddCookie(&http.Cookie{Name: accessCookie, Value: v})
				}
				r.AddCookie(&http.Cookie{Name: csrfCookie, Value: csrfValue})
				if tt.csrf != "" {
					r.Header.Set("X-CSRF-Token", tt.csrf)
				}
				if tt.site != "" {
					r.Header.Set("Sec-Fetch-Site", tt.site)
				}
				if tt.origin != "" {
					r.Header.Set("Origin", tt.origin)
				}
				before := next.calls()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != tt.want {
					t.Fatalf("status %d, want %d (%s)", rec.Code, tt.want, rec.Body)
				}
				if ran := next.calls() > before; ran != (tt.want == http.StatusOK) {
					t.Errorf("next ran: %v", ran)
				}
			})
		}
	}
}

func TestWithCookieRefusalsWrapErrCrossOrigin(t *testing.T) {
	f := newFixture(t)
	a, err := middleware.NewAuthenticator(f.verifier, middleware.WithCookie(accessCookie, csrfCookie))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodDelete, "/items/1", nil)
	r.AddCookie(&http.Cookie{Name: accessCookie, Value: f.access(t, jwt.Grant{Subject: johnID})})
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if _, _, err := a.Authenticate(r); !errors.Is(err, middleware.ErrCrossOrigin) {
		t.Fatalf("err = %v, want ErrCrossOrigin", err)
	}
}

func TestWithCookieRefusedConfigurations(t *testing.T) {
	f := newFixture(t)
	for name, opt := range map[string]middleware.Option{
		"empty access name": middleware.WithCookie("", csrfCookie),
		"same names":        middleware.WithCookie(accessCookie, accessCookie),
		"name with ;":       middleware.WithCookie("a;b", csrfCookie),
		"bad origin":        middleware.WithCookie(accessCookie, csrfCookie, "attacker.example"),
	} {
		if _, err := middleware.NewAuthenticator(f.verifier, opt); !errors.Is(err, middleware.ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
	}
}
