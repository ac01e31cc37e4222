package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
)

// FuzzRequireBearer sends arbitrary Authorization values (one header per
// line of the input) through RequireBearer and RequireScope("read").
// Property: no panic; the status is 200, 400, 401, 403 or 503; the next
// handler runs exactly when the status is 200; refusals carry a Bearer
// challenge and one of the fixed JSON bodies.
func FuzzRequireBearer(f *testing.F) {
	fx := newFixture(f)
	next := &protectedHandler{}
	h := middleware.RequireBearer(fx.verifier, middleware.WithUsers(fx.store), middleware.WithRevocations(fx.store),
		middleware.WithLogger(discardLogger()))(middleware.RequireScope("read")(next))

	// Live tokens cannot be kept in the corpus files; add them here.
	f.Add("Bearer " + fx.access(f, jwt.Grant{Subject: johnID, Scopes: []string{"read"}}))
	f.Add("Bearer " + fx.access(f, jwt.Grant{Subject: johnID, Scopes: []string{"items"}}))
	f.Add("bearer  " + fx.access(f, jwt.Grant{Subject: aliceID, Scopes: []string{"read"}}))
	f.Add("Bearer " + fx.access(f, jwt.Grant{Subject: johnID}) + "\nBearer x")

	bodies := map[string]bool{
		bodyNotAuthenticated: true, bodyInvalidToken: true, bodyInvalidRequest: true,
		bodyForbidden: true, bodyUnavailable: true,
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if header != "" {
			for _, v := range strings.Split(header, "\n") {
				r.Header.Add("Authorization", v)
			}
		}
		before := next.calls()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		ran := next.calls() - before

		switch rec.Code {
		case 200:
			if ran != 1 {
				t.Fatalf("200 but the next handler ran %d times", ran)
			}
			if !strings.HasPrefix(rec.Body.String(), "sub=") || strings.HasPrefix(rec.Body.String(), "sub=-") {
				t.Fatalf("200 without claims: %q", rec.Body.String())
			}
			return
		case 400, 401, 403:
			if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("status %d without a Bearer challenge", rec.Code)
			}
		case 503:
		default:
			t.Fatalf("header %q: status %d", header, rec.Code)
		}
		if ran != 0 {
			t.Fatalf("status %d but the next handler ran", rec.Code)
		}
		if !bodies[rec.Body.String()] {
			t.Fatalf("status %d with body %q", rec.Code, rec.Body.String())
		}
		if v := rec.Header().Get("WWW-Authenticate"); strings.ContainsAny(v, "\r\n") {
			t.Fatalf("challenge %q", v)
		}
	})
}
