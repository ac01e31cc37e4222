package authserver

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jwtkit/jwtkit/jwt"
)

// JWKSConfig configures a [JWKSHandler].
type JWKSConfig struct {
	// Keys is the published set. Required; a set of HMAC keys only has
	// nothing to publish and is refused (HMAC keys of a mixed set are
	// left out).
	Keys *jwt.KeySet
	// MaxAge is the Cache-Control max-age of the document, at least one
	// second. Verifiers may keep using the document they fetched for that
	// long, so publish a new key (as a verify-only key of the set) at
	// least MaxAge before it becomes the active signing key, and keep a
	// retired key published until the tokens it signed have expired.
	// Default: 5 minutes.
	MaxAge time.Duration
}

// JWKSHandler serves the public keys of a [jwt.KeySet] as a JSON Web Key
// Set (RFC 7517), typically at /.well-known/jwks.json, for resource
// servers that verify the tokens with [jwt.RemoteKeySet] or any other
// JOSE library.
//
// It answers GET and HEAD with Content-Type application/jwk-set+json,
// Cache-Control "public, max-age=N", a strong ETag (If-None-Match gets 304)
// and X-Content-Type-Options: nosniff; other methods get 405 with an Allow
// header. Only public keys are published ([jwt.KeySet.PublicJWKS]); HMAC
// secrets never are.
//
// The handler follows [jwt.KeySet.Rotate]: the document is rebuilt when
// the set's keys change, and served from a cache otherwise. It is safe for
// concurrent use.
type JWKSHandler struct {
	keys   *jwt.KeySet
	cache  string // Cache-Control value
	cached atomic.Pointer[jwksDoc]
}

// jwksDoc is the document built for one list of keys.
type jwksDoc struct {
	keys []*jwt.Key
	body []byte
	etag string
}

// NewJWKSHandler returns a handler publishing the public keys of
// cfg.Keys. A missing or zero set, an HMAC key set (which has nothing to
// publish) and a MaxAge under one second fail with an error wrapping
// [ErrConfig].
func NewJWKSHandler(cfg JWKSConfig) (*JWKSHandler, error) {
	keys := cfg.Keys
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 5 * time.Minute
	}
	if keys == nil {
		return nil, fmt.Errorf("%w: NewJWKSHandler needs a key set", ErrConfig)
	}
	if cfg.MaxAge < time.Second {
		return nil, fmt.Errorf("%w: JWKS max-age must be at least one second", ErrConfig)
	}
	ks := keys.Keys()
	// A set moving from HMAC to a public-key algorithm holds both; it is
	// refused only when it has no public key at all.
	if len(ks) > 0 && !slices.ContainsFunc(ks, func(k *jwt.Key) bool { return !k.IsSymmetric() }) {
		return nil, fmt.Errorf("%w: an HMAC key set has no public keys to publish", ErrConfig)
	}
	h := &JWKSHandler{
		keys:  keys,
		cache: "public, max-age=" + strconv.FormatInt(int64(cfg.MaxAge/time.Second), 10),
	}
	if _, err := h.document(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return h, nil
}

// document returns the cached document, rebuilding it when the key set
// holds other keys than when it was built. Keys are immutable, so the
// same key pointers in the same order mean the same document.
func (h *JWKSHandler) document() (*jwksDoc, error) {
	keys := h.keys.Keys()
	if d := h.cached.Load(); d != nil && slices.Equal(d.keys, keys) {
		return d, nil
	}
	body, err := h.keys.PublicJWKS()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	d := &jwksDoc{keys: keys, body: body, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}
	h.cached.Store(d)
	return d, nil
}

// ServeHTTP implements http.Handler.
func (h *JWKSHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	d, err := h.document()
	if err != nil {
		http.Error(w, "key set unavailable", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", h.cache)
	hdr.Set("ETag", d.etag)
	hdr.Set("X-Content-Type-Options", "nosniff")
	if jwksETagMatch(r.Header.Values("If-None-Match"), d.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", "application/jwk-set+json")
	hdr.Set("Content-Length", strconv.Itoa(len(d.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(d.body)
	}
}

// jwksETagMatch implements the If-None-Match comparison of RFC 9110
// §13.1.2 (weak comparison, "*" matches).
func jwksETagMatch(values []string, etag string) bool {
	for _, v := range values {
		for tag := range strings.SplitSeq(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
				return true
			}
		}
	}
	return false
}
