package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
)

// partnerIssuer is a second trusted issuer whose subjects are its own.
const partnerIssuer = "https://partner.test"

// partnerTokens returns a verifier trusting both the fixture's issuer and
// a partner issuer, and the partner's issuer.
func partnerTokens(t *testing.T, f *fixture) (*jwt.MultiVerifier, *jwt.Issuer) {
	t.Helper()
	key, err := jwt.GenerateKey("partner", jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: partnerIssuer, Audience: []string{testAudience}})
	if err != nil {
		t.Fatal(err)
	}
	ver, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: partnerIssuer, Audience: testAudience})
	if err != nil {
		t.Fatal(err)
	}
	multi, err := jwt.NewMultiVerifier(f.verifier, ver)
	if err != nil {
		t.Fatal(err)
	}
	return multi, iss
}

// A partner's sub "42" is not local user 42: users belong to their issuer.
func TestWithUsers_SubjectOfAnotherIssuerIsNotALocalUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	multi, partner := partnerTokens(t, f)
	fromPartner := func(sub string) string {
		tok, err := partner.IssueAccess(t.Context(), jwt.Grant{Subject: sub, Scopes: []string{"read"}})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Raw
	}

	t.Run("several issuers without a mapping is a configuration error", func(t *testing.T) {
		if _, err := middleware.NewAuthenticator(multi, middleware.WithUsers(f.store)); !errors.Is(err, middleware.ErrConfig) {
			t.Fatalf("err %v, want ErrConfig", err)
		}
		anyIssuer, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: f.keys, AnyIssuer: true, Audience: testAudience})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := middleware.NewAuthenticator(anyIssuer, middleware.WithUsers(f.store)); !errors.Is(err, middleware.ErrConfig) {
			t.Fatalf("any issuer: err %v, want ErrConfig", err)
		}
	})

	t.Run("a single-issuer verifier loads only its own issuer's users", func(t *testing.T) {
		// The partner's token is valid for the multi-verifier, but the
		// local users are the fixture issuer's.
		local := mustAuthenticator(t, f.verifier, middleware.WithUsers(f.store))
		if _, u, err := local.Authenticate(bearer(f.access(t, jwt.Grant{Subject: johnID}))); err != nil || u == nil || u.ID != johnID {
			t.Fatalf("local token: user %v, err %v", u, err)
		}
	})

	t.Run("a mapping that knows only local users refuses the partner's", func(t *testing.T) {
		a := mustAuthenticator(t, multi, middleware.WithUsers(f.store), middleware.WithUserMapping(
			func(iss, sub string) (string, bool) { return sub, iss == testIssuer }))
		if _, u, err := a.Authenticate(bearer(f.access(t, jwt.Grant{Subject: johnID}))); err != nil || u.ID != johnID {
			t.Fatalf("local token: user %v, err %v", u, err)
		}
		_, u, err := a.Authenticate(bearer(fromPartner(johnID)))
		if !errors.Is(err, middleware.ErrUnknownUser) || u != nil {
			t.Fatalf("partner token with a local user's sub: user %v, err %v; want ErrUnknownUser", u, err)
		}
	})

	t.Run("a mapping links a partner subject to a chosen local user", func(t *testing.T) {
		a := mustAuthenticator(t, multi, middleware.WithUsers(f.store), middleware.WithUserMapping(
			func(iss, sub string) (string, bool) {
				switch {
				case iss == testIssuer:
					return sub, true
				case iss == partnerIssuer && sub == "p-7":
					return readerID, true
				}
				return "", false
			}))
		if _, u, err := a.Authenticate(bearer(fromPartner("p-7"))); err != nil || u.ID != readerID {
			t.Fatalf("mapped partner token: user %v, err %v", u, err)
		}
		if _, _, err := a.Authenticate(bearer(fromPartner(johnID))); !errors.Is(err, middleware.ErrUnknownUser) {
			t.Fatalf("unmapped partner token: err %v, want ErrUnknownUser", err)
		}
	})
}

// bearer returns a request carrying tok in its Authorization header.
func bearer(tok string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}
