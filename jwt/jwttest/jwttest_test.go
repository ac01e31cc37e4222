package jwttest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/jwt/jwttest"
	"github.com/jwtkit/jwtkit/middleware"
)

// TestKitMintsTokensItsVerifierAccepts: access and refresh tokens from the
// kit verify, custom claims decode, and the clock moves their validity.
func TestKitMintsTokensItsVerifierAccepts(t *testing.T) {
	t.Parallel()
	k := jwttest.New(t, jwttest.Config{Audience: "api", Algorithm: jwt.HS256})
	c := k.Claims(jwt.Grant{Subject: "u1", Scopes: []string{"read"}, Extra: map[string]any{"role": "admin"}})
	role, ok, err := jwt.Claim[string](c, "role")
	if err != nil || !ok || role != "admin" || c.Subject != "u1" || !c.HasScope("read") {
		t.Fatalf("claims %+v role %q %v %v", c, role, ok, err)
	}
	if _, err := k.Verifier.VerifyRefresh(t.Context(), k.Refresh(jwt.Grant{Subject: "u1", FamilyID: "f1"})); err != nil {
		t.Fatal(err)
	}
	tok := k.Access(jwt.Grant{Subject: "u1", TTL: time.Minute})
	k.Clock.Advance(2 * time.Minute)
	if _, err := k.Verifier.VerifyAccess(t.Context(), tok); !errors.Is(err, jwt.ErrExpired) {
		t.Fatalf("after the clock passed exp: %v, want jwt.ErrExpired", err)
	}
}

// TestRequestCarriesClaimsLikeRequireBearer: a handler reads the claims of
// Kit.Request exactly as behind RequireBearer.
func TestRequestCarriesClaimsLikeRequireBearer(t *testing.T) {
	t.Parallel()
	k := jwttest.New(t, jwttest.Config{})
	var got [2]string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := middleware.ClaimsFromContext(r.Context())
		if !ok {
			t.Fatal("no claims")
		}
		var custom struct {
			Tenant string `json:"tenant_id"`
		}
		if err := c.Decode(&custom); err != nil {
			t.Fatal(err)
		}
		got = [2]string{c.Subject, custom.Tenant}
	})
	grant := jwt.Grant{Subject: "u7", Extra: map[string]string{"tenant_id": "acme"}}
	h.ServeHTTP(httptest.NewRecorder(), k.Request(httptest.NewRequest(http.MethodGet, "/", nil), grant))
	direct := got
	got = [2]string{}

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+k.Access(grant))
	middleware.RequireBearer(k.Verifier)(h).ServeHTTP(httptest.NewRecorder(), r)
	if direct != got || got != [2]string{"u7", "acme"} {
		t.Fatalf("Kit.Request gave %q, RequireBearer %q", direct, got)
	}
}

// TestJWKSServerRotates: a remote key set follows the server's rotation.
func TestJWKSServerRotates(t *testing.T) {
	t.Parallel()
	k := jwttest.New(t, jwttest.Config{})
	srv := jwttest.NewJWKSServer(t, k.Keys)
	remote, err := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{URL: srv.URL, Algorithms: []jwt.Algorithm{jwt.ES256}, AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { remote.Close() })
	ver, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: remote, Issuer: "https://issuer.test", Now: k.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ver.VerifyAccess(t.Context(), k.Access(jwt.Grant{Subject: "a"})); err != nil {
		t.Fatal(err)
	}
	next, err := jwt.GenerateKey("", jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Rotate(next); err != nil {
		t.Fatal(err)
	}
	if err := remote.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := ver.VerifyAccess(t.Context(), k.Access(jwt.Grant{Subject: "b"})); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
}

// exampleT stands in for the *testing.T a real test passes to New.
type exampleT struct{}

func (exampleT) Helper()                           {}
func (exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Cleanup(func())                    {}
func (exampleT) Context() context.Context          { return context.Background() }

// A handler test that reads a custom claim, without a server or a login:
// in a test, pass t to New.
func ExampleKit_Request() {
	k := jwttest.New(exampleT{}, jwttest.Config{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.ClaimsFromContext(r.Context())
		role, _, _ := jwt.Claim[string](c, "role")
		fmt.Fprintf(w, "%s is %s", c.Subject, role)
	})
	r := k.Request(httptest.NewRequest(http.MethodGet, "/", nil), jwt.Grant{Subject: "u1", Extra: map[string]any{"role": "admin"}})
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	fmt.Println(w.Body.String())
	// Output: u1 is admin
}

// Verifying through a JWKS served over HTTP, as a resource server does
// against its issuer.
func ExampleNewJWKSServer() {
	k := jwttest.New(exampleT{}, jwttest.Config{})
	srv := jwttest.NewJWKSServer(exampleT{}, k.Keys)
	remote, _ := jwt.NewRemoteKeySet(jwt.RemoteKeySetConfig{URL: srv.URL, Algorithms: []jwt.Algorithm{jwt.ES256}, AllowHTTP: true})
	defer remote.Close()
	ver, _ := jwt.NewVerifier(jwt.VerifierConfig{Keys: remote, Issuer: "https://issuer.test"})

	api := middleware.RequireBearer(ver)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.ClaimsFromContext(r.Context())
		fmt.Fprint(w, "hello ", c.Subject)
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+k.Access(jwt.Grant{Subject: "ann"}))
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())
	// Output: 200 hello ann
}
