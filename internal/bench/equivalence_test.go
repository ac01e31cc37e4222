package bench

import (
	"net/http"
	"testing"

	"github.com/jwtkit/jwtkit/middleware"
	"github.com/jwtkit/jwtkit/store/memstore"
)

// TestEquivalence holds every compared path to the same decisions: a
// benchmark of a verifier that checks less would not be a comparison.
func TestEquivalence(t *testing.T) {
	fs, err := Fixtures()
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range Algorithms {
		f := fs[alg]
		t.Run(string(alg), func(t *testing.T) {
			cases, err := Cases(f)
			if err != nil {
				t.Fatal(err)
			}
			paths, err := VerifyPaths(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range paths {
				for _, c := range cases {
					err := p.Verify(c.Token)
					if c.Valid && err != nil {
						t.Errorf("verify %s: %s: refused a valid token: %v", p.Name, c.Name, err)
					}
					if !c.Valid && err == nil && !(c.NeedsKID && p.NoKID) {
						t.Errorf("verify %s: %s: accepted a bad token", p.Name, c.Name)
					}
				}
			}
			cache := newCache(t)
			ms, err := Middlewares(f, MiddlewareOptions{Extra: map[string][]middleware.Option{
				"jwtkit-cache":       {middleware.WithTokenCache(cache)},
				"jwtkit-revocations": {middleware.WithRevocations(memstore.New()), middleware.WithTokenCache(cache)},
			}})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				for _, c := range cases {
					// Twice: the second pass hits the token cache where
					// there is one.
					for range 2 {
						w := NewResponseWriter()
						m.Handler.ServeHTTP(w, BearerRequest(c.Token))
						switch {
						case c.Valid && w.Code != http.StatusNoContent:
							t.Errorf("middleware %s: %s: status %d for a valid token", m.Name, c.Name, w.Code)
						case !c.Valid && w.Code != http.StatusUnauthorized && !(c.NeedsKID && m.NoKID):
							t.Errorf("middleware %s: %s: status %d for a bad token", m.Name, c.Name, w.Code)
						}
					}
				}
			}
		})
	}
}
