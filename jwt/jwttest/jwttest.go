// Package jwttest helps test code that uses jwtkit: it mints real access
// and refresh tokens with any claims from a test key set, runs a settable
// clock, serves a JWKS over httptest that can rotate keys, and puts
// verified claims into a request context exactly as RequireBearer does,
// so that handler tests read them with the same accessors and
// Claims.Decode as production code.
//
// Everything here is for tests: keys are generated per Kit and never
// leave the process.
package jwttest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/middleware"
)

// T is the part of testing.TB that the kit uses; *testing.T and
// *testing.B are Ts.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
	Context() context.Context
}

// Config configures a [Kit]. The zero Config is ready to use.
type Config struct {
	// Issuer is the iss of minted tokens and the issuer the Verifier
	// expects. Default: "https://issuer.test".
	Issuer string
	// Audience, when set, is the aud of minted tokens and the audience
	// the Verifier expects.
	Audience string
	// Algorithm of the generated signing key. Default: ES256, so that the
	// key can also be published by a JWKSServer.
	Algorithm jwt.Algorithm
	// Start is the clock's initial time. Default: the current time,
	// truncated to the second.
	Start time.Time
}

// Kit mints and verifies tokens for tests. Its Issuer and Verifier read
// Clock, so a test moves time with Clock.Advance instead of sleeping.
type Kit struct {
	// Keys holds the generated signing key.
	Keys *jwt.KeySet
	// Issuer mints tokens on Keys at Clock's time.
	Issuer *jwt.Issuer
	// Verifier verifies tokens of Issuer at Clock's time.
	Verifier *jwt.Verifier
	// Clock is the time of Issuer and Verifier.
	Clock *Clock

	t T
}

// New returns a Kit with a freshly generated key. It fails t on a
// configuration error.
func New(t T, cfg Config) *Kit {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = "https://issuer.test"
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = jwt.ES256
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now().Truncate(time.Second)
	}
	clock := NewClock(cfg.Start)
	key, err := jwt.GenerateKey("", cfg.Algorithm)
	if err != nil {
		t.Fatalf("jwttest: %v", err)
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		t.Fatalf("jwttest: %v", err)
	}
	icfg := jwt.IssuerConfig{Keys: keys, Issuer: cfg.Issuer, Now: clock.Now}
	vcfg := jwt.VerifierConfig{Keys: keys, Issuer: cfg.Issuer, Audience: cfg.Audience, Now: clock.Now}
	if cfg.Audience != "" {
		icfg.Audience = []string{cfg.Audience}
	}
	iss, err := jwt.NewIssuer(icfg)
	if err != nil {
		t.Fatalf("jwttest: %v", err)
	}
	ver, err := jwt.NewVerifier(vcfg)
	if err != nil {
		t.Fatalf("jwttest: %v", err)
	}
	return &Kit{Keys: keys, Issuer: iss, Verifier: ver, Clock: clock, t: t}
}

// Access returns a signed access token for g; custom claims go in
// g.Extra. It fails the test if g cannot be issued.
func (k *Kit) Access(g jwt.Grant) string {
	k.t.Helper()
	tok, err := k.Issuer.IssueAccess(context.Background(), g)
	if err != nil {
		k.t.Fatalf("jwttest: issuing an access token: %v", err)
	}
	return tok.Raw
}

// Refresh returns a signed refresh token for g (g.FamilyID is required).
func (k *Kit) Refresh(g jwt.Grant) string {
	k.t.Helper()
	tok, err := k.Issuer.IssueRefresh(context.Background(), g)
	if err != nil {
		k.t.Fatalf("jwttest: issuing a refresh token: %v", err)
	}
	return tok.Raw
}

// Claims returns the verified claims of an access token for g: the same
// value a verifier hands to production code, so Claims.Decode and
// jwt.Claim read custom claims from it.
func (k *Kit) Claims(g jwt.Grant) *jwt.Claims {
	k.t.Helper()
	c, err := k.Verifier.VerifyAccess(k.t.Context(), k.Access(g))
	if err != nil {
		k.t.Fatalf("jwttest: verifying a minted token: %v", err)
	}
	return c
}

// Request returns a copy of r whose context carries the verified claims of
// an access token for g, as middleware.RequireBearer stores them: a
// handler under test reads them with middleware.ClaimsFromContext.
func (k *Kit) Request(r *http.Request, g jwt.Grant) *http.Request {
	k.t.Helper()
	return r.WithContext(middleware.ContextWithClaims(r.Context(), k.Claims(g)))
}

// Clock is a settable clock for Issuer and Verifier configs. It is safe
// for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads t until it is moved.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// JWKSServer serves the public keys of a key set as a JWKS document over
// HTTP on a loopback address, for tests of remote verification
// (jwt.NewRemoteKeySet with AllowHTTP). It is closed when the test ends.
type JWKSServer struct {
	// URL is the JWKS endpoint.
	URL string
	// Keys is the served set; Rotate changes what the next request sees.
	Keys *jwt.KeySet
}

// NewJWKSServer serves keys until the test ends.
func NewJWKSServer(t T, keys *jwt.KeySet) *JWKSServer {
	t.Helper()
	s := &JWKSServer{Keys: keys}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, err := s.Keys.PublicJWKS()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Rotate replaces the served keys, as jwt.KeySet.Rotate does.
func (s *JWKSServer) Rotate(active *jwt.Key, verifyOnly ...*jwt.Key) error {
	return s.Keys.Rotate(active, verifyOnly...)
}
