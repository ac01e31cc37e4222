package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/internal/tokenid"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/memstore"
)

// cacheClock is a settable clock shared by issuer, verifier and cache.
type cacheClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *cacheClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *cacheClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// countingVerifier counts the verifications that reach the real verifier.
type countingVerifier struct {
	v     AccessVerifier
	calls atomic.Int64
}

func (c *countingVerifier) VerifyAccess(ctx context.Context, raw string) (*jwt.Claims, error) {
	c.calls.Add(1)
	return c.v.VerifyAccess(ctx, raw)
}

// Issuer names the real verifier's issuer, whose users WithUsers loads.
func (c *countingVerifier) Issuer() string { return c.v.(interface{ Issuer() string }).Issuer() }

// Trusts passes the key check of a cache hit on to the real verifier.
func (c *countingVerifier) Trusts(claims *jwt.Claims) bool {
	return c.v.(keyTruster).Trusts(claims)
}

func mustCache(t testing.TB, cfg TokenCacheConfig) *TokenCache {
	t.Helper()
	c, err := NewTokenCache(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type cacheFixture struct {
	clock    *cacheClock
	keys     *jwt.KeySet
	issuer   *jwt.Issuer
	verifier *countingVerifier
	cache    *TokenCache
}

const cacheTestLeeway = 30 * time.Second

func newCacheFixture(t testing.TB, cfg TokenCacheConfig) *cacheFixture {
	t.Helper()
	clock := &cacheClock{t: time.Unix(1_700_000_000, 0)}
	key, err := jwt.GenerateKey("k1", jwt.HS256)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwt.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := jwt.NewIssuer(jwt.IssuerConfig{Keys: keys, Issuer: "https://issuer.test", Audience: []string{"api"}, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: "https://issuer.test", Audience: "api", Leeway: cacheTestLeeway, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	return &cacheFixture{clock: clock, keys: keys, issuer: iss, verifier: &countingVerifier{v: v}, cache: mustCache(t, cfg)}
}

func (f *cacheFixture) token(t testing.TB, sub string) *jwt.Token {
	t.Helper()
	tok, err := f.issuer.IssueAccess(context.Background(), jwt.Grant{Subject: sub, Scopes: []string{"read"}, FamilyID: tokenid.New()})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func bearerRequest(tok string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func TestTokenCacheHitAndMiss(t *testing.T) {
	f := newCacheFixture(t, TokenCacheConfig{})
	a := mustAuthenticator(t, f.verifier, WithTokenCache(f.cache))
	tok := f.token(t, "alice")

	c1, _, err := a.Authenticate(bearerRequest(tok.Raw))
	if err != nil {
		t.Fatal(err)
	}
	if n := f.verifier.calls.Load(); n != 1 {
		t.Fatalf("first use: %d verifications, want 1", n)
	}
	for range 3 {
		c2, _, err := a.Authenticate(bearerRequest(tok.Raw))
		if err != nil {
			t.Fatal(err)
		}
		if c2 != c1 {
			t.Fatal("a hit must return the verified claims")
		}
	}
	if n := f.verifier.calls.Load(); n != 1 {
		t.Fatalf("repeated use: %d verifications, want 1", n)
	}
	if f.cache.Len() != 1 {
		t.Fatalf("Len %d", f.cache.Len())
	}

	// Another token is a miss.
	other := f.token(t, "bob")
	c3, _, err := a.Authenticate(bearerRequest(other.Raw))
	if err != nil || c3.Subject != "bob" {
		t.Fatalf("other token: %v %v", c3, err)
	}
	if n := f.verifier.calls.Load(); n != 2 {
		t.Fatalf("%d verifications, want 2", n)
	}

	// A prefix or an extension of a cached token is not a hit.
	for _, v := range []string{tok.Raw[:len(tok.Raw)-1], tok.Raw + "A"} {
		if _, _, err := a.Authenticate(bearerRequest(v)); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("altered token: %v", err)
		}
	}

	f.cache.Purge()
	if f.cache.Len() != 0 {
		t.Fatal("Purge left entries")
	}
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
		t.Fatal(err)
	}
	if n := f.verifier.calls.Load(); n != 5 {
		t.Fatalf("after Purge: %d verifications, want 5", n)
	}
}

func TestTokenCacheExpiry(t *testing.T) {
	f := newCacheFixture(t, TokenCacheConfig{})
	a := mustAuthenticator(t, f.verifier, WithTokenCache(f.cache))
	t0 := f.clock.Now()
	tok := f.token(t, "alice")
	exp := tok.Claims.ExpiresAt

	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(exp.Add(-time.Second))
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
		t.Fatal(err)
	}
	if n := f.verifier.calls.Load(); n != 1 {
		t.Fatalf("before exp: %d verifications, want 1", n)
	}

	// At exp the entry is never served. The verifier still accepts the
	// token within its leeway, but it is not cached again.
	f.clock.Set(exp)
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
		t.Fatal(err)
	}
	if n := f.verifier.calls.Load(); n != 3 {
		t.Fatalf("at exp: %d verifications, want 3 (no hit past exp)", n)
	}

	// Past exp plus leeway the token is refused, cache or not.
	f.clock.Set(exp.Add(cacheTestLeeway))
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); !errors.Is(err, jwt.ErrExpired) {
		t.Fatalf("past exp+leeway: %v", err)
	}

	// A token verified within its leeway (already past exp) is not stored.
	f.clock.Set(t0)
	late := f.token(t, "bob")
	f.clock.Set(late.Claims.ExpiresAt.Add(time.Second))
	before := f.cache.Len()
	if _, _, err := a.Authenticate(bearerRequest(late.Raw)); err != nil {
		t.Fatal(err)
	}
	if f.cache.Len() != before {
		t.Fatal("a token past its exp was cached")
	}

	// Expired entries are dropped when new entries arrive.
	f.clock.Set(t0.Add(time.Hour))
	fresh := f.token(t, "carol")
	if _, _, err := a.Authenticate(bearerRequest(fresh.Raw)); err != nil {
		t.Fatal(err)
	}
	if n := f.cache.Len(); n > 2 {
		t.Fatalf("Len %d: expired entries kept", n)
	}
}

func TestTokenCacheEntryCap(t *testing.T) {
	for _, max := range []int{1, 3, 10, 17, 100} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			f := newCacheFixture(t, TokenCacheConfig{MaxEntries: max})
			a := mustAuthenticator(t, f.verifier, WithTokenCache(f.cache))
			for i := range 3 * max {
				tok := f.token(t, fmt.Sprintf("user-%d", i))
				if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
					t.Fatal(err)
				}
				if n := f.cache.Len(); n > max {
					t.Fatalf("Len %d > MaxEntries %d", n, max)
				}
			}
			if f.cache.Len() == 0 {
				t.Fatal("nothing cached")
			}
		})
	}
}

// TestTokenCacheDropsTokensOfRemovedKey: once the key that verified a
// cached token leaves the key set, the token is verified again (and
// refused) on its next use, without a Purge.
func TestTokenCacheDropsTokensOfRemovedKey(t *testing.T) {
	f := newCacheFixture(t, TokenCacheConfig{})
	a := mustAuthenticator(t, f.verifier, WithTokenCache(f.cache))
	tok := f.token(t, "alice")
	for range 2 {
		if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.verifier.calls.Load(); n != 1 {
		t.Fatalf("%d verifications before the rotation, want 1", n)
	}
	next, err := jwt.GenerateKey("next", jwt.HS256)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.keys.Rotate(next); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); !errors.Is(err, ErrInvalidToken) || !errors.Is(err, jwt.ErrUnknownKey) {
		t.Fatalf("token of a removed key: %v, want ErrInvalidToken wrapping jwt.ErrUnknownKey", err)
	}
	if n := f.verifier.calls.Load(); n != 2 {
		t.Fatalf("%d verifications, want the removed key's token verified again", n)
	}
	if f.cache.Len() != 0 {
		t.Fatalf("Len %d after the key left the set", f.cache.Len())
	}
}

func TestNewTokenCacheRefusesNegativeSize(t *testing.T) {
	if _, err := NewTokenCache(TokenCacheConfig{MaxEntries: -1}); !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
}

// acceptAll accepts anything, to show that the cache does not rely on the
// verifier for the format of what it stores.
type acceptAll struct{ exp time.Time }

func (v acceptAll) VerifyAccess(context.Context, string) (*jwt.Claims, error) {
	return &jwt.Claims{Subject: "x", ID: "j", ExpiresAt: v.exp}, nil
}

func TestTokenCacheNeverCachesFailures(t *testing.T) {
	f := newCacheFixture(t, TokenCacheConfig{})
	a := mustAuthenticator(t, f.verifier, WithTokenCache(f.cache))
	tok := f.token(t, "alice")
	parts := strings.Split(tok.Raw, ".")
	other := f.token(t, "mallory")
	tampered := parts[0] + "." + strings.Split(other.Raw, ".")[1] + "." + parts[2]
	bad := []string{
		tampered,
		parts[0] + "." + parts[1] + ".AAAA",
		parts[0] + "." + parts[1],
		"e30.e30.e30",
	}
	for _, b := range bad {
		for range 2 {
			if _, _, err := a.Authenticate(bearerRequest(b)); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("%q: %v", b, err)
			}
		}
	}
	if f.cache.Len() != 0 {
		t.Fatalf("%d failed tokens cached", f.cache.Len())
	}
	if n := f.verifier.calls.Load(); n != int64(2*len(bad)) {
		t.Fatalf("%d verifications, want %d", n, 2*len(bad))
	}

	// A token that fails once is not cached even if it is later presented
	// with a valid twin in the cache.
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Authenticate(bearerRequest(tampered)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("tampered token after its original was cached: %v", err)
	}

	// Same length and same end as a cached token (so the same slot), but
	// not the same token: verified, and refused.
	twin := "X" + tok.Raw[1:]
	if twin == tok.Raw {
		twin = "Y" + tok.Raw[1:]
	}
	before := f.verifier.calls.Load()
	if _, _, err := a.Authenticate(bearerRequest(twin)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token sharing a cached token's slot: %v", err)
	}
	if f.verifier.calls.Load() != before+1 {
		t.Fatal("a token sharing a cached token's slot was not verified")
	}
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
		t.Fatal(err)
	}

	// Tokens not in strict compact form are never stored, whatever the
	// verifier says.
	c2 := mustCache(t, TokenCacheConfig{Now: f.clock.Now})
	loose := mustAuthenticator(t, acceptAll{exp: f.clock.Now().Add(time.Hour)}, WithTokenCache(c2))
	for _, raw := range []string{"opaque-token", "a.b.c.d", "a..c"} {
		if _, _, err := loose.Authenticate(bearerRequest(raw)); err != nil {
			t.Fatal(err)
		}
	}
	if c2.Len() != 0 {
		t.Fatal("a token outside the compact form was cached")
	}
}

func TestTokenCacheRevocationOnHit(t *testing.T) {
	f := newCacheFixture(t, TokenCacheConfig{})
	mem := memstore.New()
	a := mustAuthenticator(t, f.verifier, WithRevocations(mem), WithTokenCache(f.cache))
	tok := f.token(t, "alice")
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
		t.Fatal(err)
	}
	c := tok.Claims
	err := mem.RevokeToken(context.Background(), store.TokenRef{ID: c.ID, Subject: c.Subject, FamilyID: c.FamilyID, IssuedAt: c.IssuedAt}, c.ExpiresAt.Add(cacheTestLeeway))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked token on a cache hit: %v", err)
	}
	if n := f.verifier.calls.Load(); n != 1 {
		t.Fatalf("%d verifications: the revocation must have been seen on a hit", n)
	}
	// Subject-wide revocation is seen on hits too.
	tok2 := f.token(t, "bob")
	if _, _, err := a.Authenticate(bearerRequest(tok2.Raw)); err != nil {
		t.Fatal(err)
	}
	if err := mem.RevokeSubject(context.Background(), "bob", f.clock.Now().Add(2*time.Second), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Authenticate(bearerRequest(tok2.Raw)); !errors.Is(err, ErrRevoked) {
		t.Fatalf("subject revoked, cache hit: %v", err)
	}
}

func TestTokenCacheKeepsAuthenticatorsApart(t *testing.T) {
	f := newCacheFixture(t, TokenCacheConfig{})
	tok := f.token(t, "alice")
	// A verifier for another audience shares the key but must refuse.
	other, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: f.keys, Issuer: "https://issuer.test", Audience: "admin-api", Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	a := mustAuthenticator(t, f.verifier, WithTokenCache(f.cache))
	b := mustAuthenticator(t, other, WithTokenCache(f.cache))
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Authenticate(bearerRequest(tok.Raw)); !errors.Is(err, jwt.ErrAudience) {
		t.Fatalf("a token cached for one Authenticator was served to another: %v", err)
	}
}

func TestTokenCacheNil(t *testing.T) {
	f := newCacheFixture(t, TokenCacheConfig{})
	a := mustAuthenticator(t, f.verifier, WithTokenCache(nil))
	tok := f.token(t, "alice")
	for range 2 {
		if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.verifier.calls.Load(); n != 2 {
		t.Fatalf("%d verifications without a cache", n)
	}
}

func TestTokenCacheConcurrent(t *testing.T) {
	f := newCacheFixture(t, TokenCacheConfig{MaxEntries: 32})
	mem := memstore.New()
	a := mustAuthenticator(t, f.verifier, WithRevocations(mem), WithTokenCache(f.cache))
	toks := make([]*jwt.Token, 100)
	for i := range toks {
		toks[i] = f.token(t, fmt.Sprintf("user-%d", i))
	}
	revoked := toks[7].Claims
	if err := mem.RevokeToken(context.Background(), store.TokenRef{ID: revoked.ID, Subject: revoked.Subject}, revoked.ExpiresAt.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				tok := toks[(i*7+g)%len(toks)]
				c, _, err := a.Authenticate(bearerRequest(tok.Raw))
				switch {
				case tok.Claims.ID == revoked.ID:
					if !errors.Is(err, ErrRevoked) {
						errc <- fmt.Errorf("revoked token: %v", err)
						return
					}
				case err != nil:
					errc <- err
					return
				case c.Subject != tok.Claims.Subject:
					errc <- fmt.Errorf("claims of %s served for %s", c.Subject, tok.Claims.Subject)
					return
				}
				if g == 0 && i%500 == 0 {
					f.cache.Purge()
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if n := f.cache.Len(); n > 32 {
		t.Fatalf("Len %d > 32", n)
	}
}

func BenchmarkTokenCacheLookup(b *testing.B) {
	f := newCacheFixture(b, TokenCacheConfig{Now: time.Now})
	f.clock.Set(time.Now())
	a := mustAuthenticator(b, f.verifier, WithTokenCache(f.cache))
	tok := f.token(b, "alice")
	if _, _, err := a.Authenticate(bearerRequest(tok.Raw)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := f.cache.lookup(a, tok.Raw); !ok {
			b.Fatal("miss")
		}
	}
}

// TestTokenCacheSameDecisions: with and without a cache (warm with the
// valid token), Authenticate gives the same outcome for each header.
func TestTokenCacheSameDecisions(t *testing.T) {
	f := newCacheFixture(t, TokenCacheConfig{})
	tok := f.token(t, "alice").Raw
	plain := mustAuthenticator(t, f.verifier)
	cached := mustAuthenticator(t, f.verifier, WithTokenCache(f.cache))
	if _, _, err := cached.Authenticate(bearerRequest(tok)); err != nil {
		t.Fatal(err)
	}
	headers := [][]string{
		{"Bearer " + tok}, {"bearer \t" + tok + " "}, {"Bearer " + tok + "="}, {"Bearer " + tok + "$"},
		{"Bearer " + tok, "Bearer " + tok}, {"Basic " + tok}, {"Bearer"}, {"Bearer " + tok[:10] + "\u00a0" + tok[10:]},
		{"Bearer " + strings.Repeat("A", 9000)}, {},
	}
	for _, h := range headers {
		for _, q := range []string{"", "?access_token=x"} {
			r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/"+q, nil)
			if len(h) > 0 {
				r.Header["Authorization"] = h
			}
			c1, _, e1 := plain.Authenticate(r)
			c2, _, e2 := cached.Authenticate(r)
			if (c1 == nil) != (c2 == nil) || fmt.Sprint(e1) != fmt.Sprint(e2) {
				t.Errorf("%q %q: without cache %v, with cache %v", h, q, e1, e2)
			}
		}
	}
}

func mustAuthenticator(t testing.TB, v AccessVerifier, opts ...Option) *Authenticator {
	t.Helper()
	a, err := NewAuthenticator(v, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestTokenCacheOrderStaysBounded: entries dropped on a hit (their key
// left the set) leave their slot in the eviction order behind; the order
// is compacted, so it never grows past twice the entry cap however many
// such drops happen.
func TestTokenCacheOrderStaysBounded(t *testing.T) {
	t.Parallel()
	const max = 4
	f := newCacheFixture(t, TokenCacheConfig{MaxEntries: max})
	a := mustAuthenticator(t, f.verifier, WithTokenCache(f.cache))
	for round := range 20 {
		toks := make([]string, max)
		for i := range toks {
			toks[i] = f.token(t, fmt.Sprintf("r%d-u%d", round, i)).Raw
			for range 2 { // a miss that stores, then a hit
				if _, _, err := a.Authenticate(bearerRequest(toks[i])); err != nil {
					t.Fatal(err)
				}
			}
		}
		// A new key replaces the old one: each cached token is dropped on
		// its next use, which is then refused.
		next, err := jwt.GenerateKey("", jwt.HS256)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.keys.Rotate(next); err != nil {
			t.Fatal(err)
		}
		for _, raw := range toks {
			if _, _, err := a.Authenticate(bearerRequest(raw)); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("token of a removed key: %v", err)
			}
		}
		f.cache.mu.RLock()
		n, o := len(f.cache.entries), len(f.cache.order)
		f.cache.mu.RUnlock()
		if n != 0 || o > 2*max {
			t.Fatalf("round %d: %d entries, %d order slots (cap %d)", round, n, o, max)
		}
	}
}
