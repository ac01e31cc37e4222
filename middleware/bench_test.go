package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jwtkit/jwtkit/internal/tokenid"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
)

// benchWriter is a ResponseWriter that keeps only the status, so the
// benchmark measures the middleware rather than a recorder.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkRequireBearer measures one authenticated request with a valid
// HS256 token: stateless, with a user lookup, and with a revocation check
// against the memory store.
func BenchmarkRequireBearer(b *testing.B) {
	f := newFixture(b)
	tok := f.access(b, jwt.Grant{Subject: johnID, Scopes: []string{"read"}, FamilyID: tokenid.New()})
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	for _, bc := range []struct {
		name string
		opts []middleware.Option
	}{
		{"HS256", nil},
		{"HS256+users", []middleware.Option{middleware.WithUsers(f.store)}},
		{"HS256+revocations-memory", []middleware.Option{middleware.WithRevocations(f.store)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := middleware.RequireBearer(f.verifier, bc.opts...)(next)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := &benchWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				w.code = 0
				h.ServeHTTP(w, r)
				if w.code != http.StatusNoContent {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
