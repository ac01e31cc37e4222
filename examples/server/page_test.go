package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPageIsServedWithItsHeaders: GET / is the login page, with a form
// for username and password, a logout button, and a policy that allows
// only the page's own script, styles and origin.
func TestPageIsServedWithItsHeaders(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := newApp(context.Background(), config{alg: "HS256", store: "memory", secret: e2eKey,
		issuer: "http://127.0.0.1:8000", addr: "127.0.0.1:8000"}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	for _, tt := range []struct {
		path, contentType string
		contains          []string
	}{
		{"/", "text/html; charset=utf-8", []string{`name="username"`, `name="password"`, `type="submit"`, `id="logout"`, `src="/app.js"`}},
		{"/app.js", "text/javascript; charset=utf-8", []string{"/session/refresh", "navigator.locks", "BroadcastChannel"}},
		{"/page.css", "text/css; charset=utf-8", nil},
	} {
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8000"+tt.path, nil))
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != tt.contentType {
			t.Fatalf("GET %s: %d %q", tt.path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: CSP %q", tt.path, csp)
		}
		for _, s := range tt.contains {
			if !strings.Contains(rec.Body.String(), s) {
				t.Errorf("GET %s: no %q", tt.path, s)
			}
		}
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nothing-here", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /nothing-here: %d", rec.Code)
	}
}
