package middleware

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jwtkit/jwtkit/internal/compact"
	"github.com/jwtkit/jwtkit/internal/httpauth"
	"github.com/jwtkit/jwtkit/jwt"
)

// DefaultTokenCacheEntries is the number of tokens a [TokenCache] holds
// unless configured otherwise.
const DefaultTokenCacheEntries = 10_000

// TokenCacheConfig configures a [TokenCache].
type TokenCacheConfig struct {
	// MaxEntries caps the number of cached tokens; when full, the oldest
	// entry makes room. An entry keeps about twice its token's length
	// alive (the token and its decoded claims), and tokens are at most
	// the verifier's MaxTokenBytes (8 KiB by default) long. Default:
	// 10,000. Negative: refused by NewTokenCache.
	MaxEntries int
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// TokenCache remembers the claims of access tokens that passed
// verification, keyed by the whole token string, so that a token presented
// again skips the signature and claim checks until its exp. Give it to an
// Authenticator with [WithTokenCache]; it is opt-in.
//
// What it guarantees:
//
//   - Only a token that the Authenticator's verifier accepted is stored,
//     and only if it is in strict compact form. A lookup matches the whole
//     token string; nothing unverified is ever served.
//   - An entry is served only strictly before the token's exp: the
//     verifier's leeway is not extended to cached tokens, and an expired
//     token goes back to the verifier (which refuses it once exp plus
//     leeway has passed).
//   - An entry is served only while the verifier still holds the key that
//     verified it (jwt.Verifier.Trusts, jwt.MultiVerifier.Trusts): removing
//     a key from the key set stops its cached tokens at once. A verifier of
//     your own without a Trusts method cannot say so; its tokens stay
//     cached until exp unless you call Purge.
//   - The per-request checks that follow verification still run on every
//     hit: revocation ([WithRevocations]) and the user lookup
//     ([WithUsers]).
//   - Entries of different Authenticators sharing one cache are kept
//     apart, so a token accepted by one verifier is never served to
//     another.
//   - At most MaxEntries entries are held; the oldest go first.
//
// Cached claims are shared by every request that presents the token, as
// [jwt.Claims] allows: handlers must treat them as read-only.
//
// A TokenCache is safe for concurrent use.
type TokenCache struct {
	now        func() time.Time
	maxEntries int

	mu      sync.RWMutex
	entries map[cacheKey]*cacheEntry
	order   []cacheKey // insertion order, oldest first; may hold keys already gone
}

type cacheKey struct {
	owner *Authenticator
	token string
}

type cacheEntry struct {
	claims *jwt.Claims
	exp    time.Time
}

// NewTokenCache returns an empty cache. It reports an error wrapping
// [ErrConfig] for a negative MaxEntries.
func NewTokenCache(cfg TokenCacheConfig) (*TokenCache, error) {
	if cfg.MaxEntries < 0 {
		return nil, fmt.Errorf("%w: negative TokenCacheConfig.MaxEntries", ErrConfig)
	}
	c := &TokenCache{
		now:        cfg.Now,
		maxEntries: cfg.MaxEntries,
		entries:    make(map[cacheKey]*cacheEntry),
	}
	if c.maxEntries == 0 {
		c.maxEntries = DefaultTokenCacheEntries
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// WithTokenCache makes the Authenticator look tokens up in c before
// verifying them, and store them in c after a successful verification.
// See [TokenCache] for what is and is not cached. Default: no cache.
func WithTokenCache(c *TokenCache) Option { return func(o *options) { o.tokenCache = c } }

// bearerToken returns r's bearer token as httpauth.BearerToken does, and
// its claims when the token cache holds it. A cached token was verified,
// so it is a compact JWS, made of b64token characters only: on a hit the
// character check of BearerToken is skipped, and every other token gets it
// before it is returned.
func (a *Authenticator) bearerToken(r *http.Request) (string, *jwt.Claims, error) {
	if a.opts.tokenCache == nil {
		raw, err := httpauth.BearerToken(r, a.opts.maxHeader)
		return raw, nil, err
	}
	raw, err := httpauth.BearerTokenUnchecked(r, a.opts.maxHeader)
	if err != nil {
		return "", nil, err
	}
	if claims, ok := a.opts.tokenCache.lookup(a, raw); ok {
		return raw, claims, nil
	}
	if !httpauth.IsB64Token(raw) {
		return "", nil, httpauth.ErrMalformed
	}
	return raw, nil, nil
}

// keyTruster is implemented by verifiers that can say whether the key
// that verified some claims is still trusted (jwt.Verifier,
// jwt.MultiVerifier).
type keyTruster interface {
	Trusts(c *jwt.Claims) bool
}

// lookup returns the cached claims of raw for owner. It is safe on a nil
// cache (no hit).
func (c *TokenCache) lookup(owner *Authenticator, raw string) (*jwt.Claims, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	e := c.entries[cacheKey{owner, raw}]
	c.mu.RUnlock()
	// Entries are immutable once stored.
	if e == nil || !c.now().Before(e.exp) {
		return nil, false
	}
	if owner.truster != nil && !owner.truster.Trusts(e.claims) {
		c.mu.Lock()
		delete(c.entries, cacheKey{owner, raw})
		c.mu.Unlock()
		return nil, false
	}
	return e.claims, true
}

// store records claims, which owner's verifier just returned for raw. It
// is safe on a nil cache.
func (c *TokenCache) store(owner *Authenticator, raw string, claims *jwt.Claims) {
	if c == nil || claims == nil || !wellFormed(raw) {
		return
	}
	now := c.now()
	if !now.Before(claims.ExpiresAt) {
		return
	}
	key := cacheKey{owner, raw}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return // a concurrent miss stored it first
	}
	// Make room: drop the oldest entries (and order slots whose entry is
	// already gone) until one more fits.
	for len(c.entries) >= c.maxEntries && len(c.order) > 0 {
		delete(c.entries, c.order[0])
		c.order[0] = cacheKey{}
		c.order = c.order[1:]
	}
	// Keys of entries dropped on a hit stay in order until they reach the
	// front; compact when that waste grows, so order stays bounded.
	if len(c.order) >= 2*c.maxEntries {
		c.order = slices.DeleteFunc(c.order, func(k cacheKey) bool { return c.entries[k] == nil })
	}
	c.entries[key] = &cacheEntry{claims: claims, exp: claims.ExpiresAt}
	c.order = append(c.order, key)
}

// Len returns the number of cached tokens, expired ones not yet dropped
// included.
func (c *TokenCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// Purge drops every entry, so that each token is verified again on its
// next use.
func (c *TokenCache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.order = nil
}

// wellFormed reports whether raw is in the strict compact form the
// verifier demands, with the verifier's default length limit.
func wellFormed(raw string) bool {
	_, _, fault := compact.Split(raw, compact.DefaultMaxBytes)
	return fault == ""
}
