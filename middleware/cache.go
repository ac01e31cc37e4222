package middleware

import (
	"hash/maphash"
	"net/http"
	"sync"
	"time"
	"unsafe"

	"github.com/jwtkit/jwtkit/internal/compact"
	"github.com/jwtkit/jwtkit/internal/httpauth"
	"github.com/jwtkit/jwtkit/jwt"
)

// Defaults of [TokenCacheConfig].
const (
	DefaultTokenCacheEntries = 10_000
	DefaultTokenCacheBytes   = 8 << 20
)

// TokenCacheConfig configures a [TokenCache].
type TokenCacheConfig struct {
	// MaxEntries caps the number of cached tokens. Default: 10,000.
	MaxEntries int
	// MaxBytes caps the memory held by cached entries: token, claims and
	// bookkeeping, counted generously. Default: 8 MiB.
	MaxBytes int64
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// TokenCache remembers the claims of access tokens that passed
// verification, keyed by the exact token string, so that a token presented
// again skips the signature and claim checks until its exp. Give it to an
// Authenticator with [WithTokenCache]; it is opt-in.
//
// What it guarantees:
//
//   - Only a token that the Authenticator's verifier accepted is stored,
//     and only if it is in strict compact form (see wellFormed). A
//     lookup matches the whole token string exactly; nothing unverified is
//     ever served.
//   - An entry is served only strictly before the token's exp: the
//     verifier's leeway is not extended to cached tokens, and an expired
//     token goes back to the verifier (which refuses it once exp plus
//     leeway has passed).
//   - The per-request checks that follow verification still run on every
//     hit: revocation ([WithRevocations]) and the user lookup
//     ([WithUsers]).
//   - Entries of different Authenticators sharing one cache are kept
//     apart, so a token accepted by one verifier is never served to
//     another.
//   - Memory is bounded by entry count and by bytes; when full, expired
//     and then the oldest entries are dropped first. The caps are split
//     evenly over up to 16 internal shards (each with its own lock), so a
//     cache may hold a little less than MaxEntries.
//
// A cached token stays accepted until its exp even if the key that signed
// it is removed from the key set. After removing a key that must stop
// being trusted at once (a leaked key), call [TokenCache.Purge].
//
// Cached claims are shared by every request that presents the token, as
// [jwt.Claims] allows: handlers must treat them as read-only.
//
// A TokenCache is safe for concurrent use.
type TokenCache struct {
	seed   maphash.Seed
	now    func() time.Time
	shards []cacheShard
	mask   uint64
}

type cacheKey struct {
	hash  uint64
	owner *Authenticator
}

type cacheEntry struct {
	key    cacheKey
	token  string
	claims *jwt.Claims
	exp    time.Time
	size   int64
}

// cacheShard is one lock's worth of the cache. Entries are dropped in
// insertion order (a FIFO ring); the map and the ring always hold the same
// entries.
type cacheShard struct {
	mu         sync.RWMutex
	m          map[cacheKey]*cacheEntry
	ring       []*cacheEntry // grows up to maxEntries slots
	head, n    int
	bytes      int64
	maxEntries int
	maxBytes   int64
	_          [64]byte // keep shards' locks on separate cache lines
}

const maxCacheShards = 16

// NewTokenCache returns an empty cache.
func NewTokenCache(cfg TokenCacheConfig) *TokenCache {
	maxEntries := cfg.MaxEntries
	if maxEntries <= 0 {
		maxEntries = DefaultTokenCacheEntries
	}
	maxBytes := cfg.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultTokenCacheBytes
	}
	n := maxCacheShards
	for n > 1 && n > maxEntries {
		n /= 2
	}
	c := &TokenCache{
		seed:   maphash.MakeSeed(),
		now:    cfg.Now,
		shards: make([]cacheShard, n),
		mask:   uint64(n - 1),
	}
	if c.now == nil {
		c.now = time.Now
	}
	// Per-shard caps round down, so the totals never exceed the
	// configured caps.
	for i := range c.shards {
		s := &c.shards[i]
		s.maxEntries = maxEntries / n
		s.maxBytes = maxBytes / int64(n)
		s.m = make(map[cacheKey]*cacheEntry)
	}
	return c
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

func (c *TokenCache) shard(h uint64) *cacheShard {
	return &c.shards[(h>>32)&c.mask]
}

// hashTailBytes is how much of the token's end is hashed: the signature
// (43 characters for HS256, more for the others) and some of the claims.
// The hash only picks the slot; a hit needs the whole token to be equal.
const hashTailBytes = 64

func (c *TokenCache) hash(raw string) uint64 {
	tail := raw[len(raw)-min(len(raw), hashTailBytes):]
	return maphash.String(c.seed, tail) ^ uint64(len(raw))*0x9e3779b97f4a7c15
}

// lookup returns the cached claims of raw for owner. It is safe on a nil
// cache (no hit).
func (c *TokenCache) lookup(owner *Authenticator, raw string) (*jwt.Claims, bool) {
	if c == nil {
		return nil, false
	}
	h := c.hash(raw)
	s := c.shard(h)
	s.mu.RLock()
	e := s.m[cacheKey{h, owner}]
	s.mu.RUnlock()
	// Entries are immutable once stored.
	if e == nil || e.token != raw || !c.now().Before(e.exp) {
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
	e := &cacheEntry{token: raw, claims: claims, exp: claims.ExpiresAt, size: entrySize(raw, claims)}
	e.key = cacheKey{c.hash(raw), owner}
	s := c.shard(e.key.hash)
	if e.size > s.maxBytes || s.maxEntries == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[e.key]; ok {
		// Already there (a concurrent miss stored it), or a hash
		// collision, which simply goes uncached.
		return
	}
	// Drop expired entries at the head, then the oldest until e fits.
	for s.n > 0 {
		old := s.ring[s.head]
		if now.Before(old.exp) && s.n < s.maxEntries && s.bytes+e.size <= s.maxBytes {
			break
		}
		s.popLocked()
	}
	if s.n == len(s.ring) {
		s.growLocked()
	}
	s.ring[(s.head+s.n)%len(s.ring)] = e
	s.n++
	s.bytes += e.size
	s.m[e.key] = e
}

// growLocked doubles the ring, up to maxEntries slots.
func (s *cacheShard) growLocked() {
	size := min(max(2*len(s.ring), 16), s.maxEntries)
	ring := make([]*cacheEntry, size)
	for i := range s.n {
		ring[i] = s.ring[(s.head+i)%len(s.ring)]
	}
	s.ring, s.head = ring, 0
}

func (s *cacheShard) popLocked() {
	old := s.ring[s.head]
	s.ring[s.head] = nil
	s.head = (s.head + 1) % len(s.ring)
	s.n--
	s.bytes -= old.size
	delete(s.m, old.key)
}

// entrySize estimates the memory an entry keeps alive. Strings of the
// claims usually point into the decoded claim set; they are counted again
// anyway, so the estimate errs high.
func entrySize(raw string, c *jwt.Claims) int64 {
	const fixed = int64(unsafe.Sizeof(cacheEntry{})+unsafe.Sizeof(jwt.Claims{})) +
		224 // map slot, ring slot, the verifier's inline list storage, rounding
	n := fixed + int64(len(raw)) + int64(len(raw))*3/4 + // token, decoded claim set
		int64(len(c.Subject)+len(c.Issuer)+len(c.ID)+len(c.FamilyID)+len(c.KeyID))
	for _, a := range c.Audience {
		n += int64(len(a)) + int64(unsafe.Sizeof(a))
	}
	for _, sc := range c.Scopes {
		n += int64(len(sc)) + int64(unsafe.Sizeof(sc))
	}
	return n
}

// Len returns the number of cached tokens, expired ones not yet dropped
// included.
func (c *TokenCache) Len() int {
	n, _ := c.totals()
	return n
}

// Bytes returns the memory accounted to cached entries.
func (c *TokenCache) Bytes() int64 {
	_, b := c.totals()
	return b
}

func (c *TokenCache) totals() (n int, bytes int64) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += s.n
		bytes += s.bytes
		s.mu.RUnlock()
	}
	return n, bytes
}

// Purge drops every entry, so that each token is verified again on its
// next use. Call it after removing a key from a key set when tokens signed
// with that key must stop being accepted at once.
func (c *TokenCache) Purge() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		clear(s.ring)
		s.head, s.n, s.bytes = 0, 0, 0
		s.mu.Unlock()
	}
}

// wellFormed reports whether raw is in the strict compact form the
// verifier demands, with the verifier's default length limit.
func wellFormed(raw string) bool {
	_, _, fault := compact.Split(raw, compact.DefaultMaxBytes)
	return fault == ""
}
