package jwt

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"

	"github.com/jwtkit/jwtkit/internal/compact"
	"github.com/jwtkit/jwtkit/internal/httpauth"
)

// Limits applied before any decoding.
const (
	// maxHeaderBytes caps the decoded protected header.
	maxHeaderBytes = 1 << 10
	// maxSignatureBytes caps the decoded signature (RSA 8192 is 1024).
	maxSignatureBytes = 1 << 10
	// MaxLeeway is the largest clock-skew allowance a Verifier accepts.
	MaxLeeway = 5 * time.Minute
)

// VerifierConfig configures a [Verifier]. The zero value of every optional
// field is the strict choice.
type VerifierConfig struct {
	// Keys supplies verification keys. Required.
	Keys KeySource
	// Issuer, when set, must equal the iss claim exactly.
	Issuer string
	// AnyIssuer must be set to accept tokens without checking iss. A
	// verifier with neither Issuer nor AnyIssuer is a configuration error.
	AnyIssuer bool
	// Audience names this verifier's service: a token is accepted only if
	// Audience is one of its aud values. A token that carries aud is
	// meant for the services it names, so a verifier without Audience
	// refuses every token with a non-empty aud (RFC 7519 §4.1.3), unless
	// AnyAudience is set.
	Audience string
	// AnyAudience accepts tokens whatever their aud, for a verifier that
	// checks the audience itself or serves every audience of its issuer.
	// It may not be combined with Audience.
	AnyAudience bool
	// Leeway is the allowance for clock skew when checking exp, nbf and
	// iat. Default: none. At most MaxLeeway.
	Leeway time.Duration
	// MaxTokenBytes caps the token length. Default: 8 KiB.
	MaxTokenBytes int
	// MaxAccessTTL and MaxRefreshTTL cap how far exp may lie from iat (and
	// from now). Defaults: 24 hours and 30 days.
	MaxAccessTTL  time.Duration
	MaxRefreshTTL time.Duration
	// AllowPlainJWT accepts, as access tokens, tokens whose typ header is
	// absent or "JWT", as minted by python-jose in the FastAPI recipe or
	// by most other libraries. jwtkit's refresh tokens always carry their
	// own typ, so this never lets a refresh token act as an access token.
	// Default: false (typ must be at+jwt).
	AllowPlainJWT bool
	// Profile adapts access-token claims to another issuer's shape: the
	// scope claim's name and format, and further required claims. The
	// zero value is jwtkit's own shape.
	Profile AccessProfile
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// Verifier checks tokens against a [KeySource]. It is safe for concurrent
// use.
//
// Verification checks, in order: length and strict compact form (three
// non-empty base64url segments, canonical encoding, nothing else), the
// protected header (one JSON object with a string alg; crit, b64, zip, jku,
// x5u, jwk, x5c, cty and JWE members refused), the kid and the algorithm
// bound to that key, the token kind (typ), the signature, and then the
// claims: one JSON object with valid UTF-8 and no duplicate names, exp
// required, nbf, iat, lifetime, iss, aud, sub required.
//
// It does not consult revocation; that is the job of the caller (see
// middleware.WithRevocations).
type Verifier struct {
	keys          KeySource
	issuer        string
	anyIssuer     bool
	audience      string
	anyAudience   bool
	leeway        time.Duration
	maxBytes      int
	maxAccess     time.Duration
	maxRefresh    time.Duration
	allowPlainJWT bool
	scopeClaim    string   // the access-token scope claim
	scopeArray    bool     // the access-token scope claim may be an array
	required      []string // further claims access tokens must carry
	now           func() time.Time

	// scratch holds *scratch values: the working memory of a
	// verification, reused rather than allocated per token.
	scratch sync.Pool
}

// NewVerifier checks cfg and returns a Verifier.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.Keys == nil {
		return nil, fmt.Errorf("%w: VerifierConfig.Keys is required", ErrConfig)
	}
	if err := cfg.Keys.built(); err != nil {
		return nil, fmt.Errorf("VerifierConfig.Keys: %w", err)
	}
	if cfg.Issuer == "" && !cfg.AnyIssuer {
		return nil, fmt.Errorf("%w: set Issuer, or AnyIssuer to accept tokens from any issuer", ErrConfig)
	}
	if cfg.Issuer != "" && cfg.AnyIssuer {
		return nil, fmt.Errorf("%w: Issuer and AnyIssuer are exclusive", ErrConfig)
	}
	if cfg.Audience != "" && cfg.AnyAudience {
		return nil, fmt.Errorf("%w: Audience and AnyAudience are exclusive", ErrConfig)
	}
	if cfg.Leeway < 0 || cfg.Leeway > MaxLeeway {
		return nil, fmt.Errorf("%w: leeway must be between 0 and %s", ErrConfig, MaxLeeway)
	}
	if cfg.MaxTokenBytes < 0 || cfg.MaxAccessTTL < 0 || cfg.MaxRefreshTTL < 0 {
		return nil, fmt.Errorf("%w: negative limit", ErrConfig)
	}
	scopeClaim, err := cfg.Profile.check()
	if err != nil {
		return nil, err
	}
	v := &Verifier{
		keys:          cfg.Keys,
		issuer:        cfg.Issuer,
		anyIssuer:     cfg.AnyIssuer,
		audience:      cfg.Audience,
		anyAudience:   cfg.AnyAudience,
		leeway:        cfg.Leeway,
		maxBytes:      cmp.Or(cfg.MaxTokenBytes, compact.DefaultMaxBytes),
		maxAccess:     cmp.Or(cfg.MaxAccessTTL, 24*time.Hour),
		maxRefresh:    cmp.Or(cfg.MaxRefreshTTL, 30*24*time.Hour),
		allowPlainJWT: cfg.AllowPlainJWT,
		scopeClaim:    scopeClaim,
		scopeArray:    cfg.Profile.ScopeArray,
		required:      slices.Clone(cfg.Profile.RequiredClaims),
		now:           cfg.Now,
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// Issuer returns the issuer the verifier requires, or "" when it accepts
// any (AnyIssuer).
func (v *Verifier) Issuer() string { return v.issuer }

// Trusts reports whether the key that verified c is still in the
// verifier's key set. A cache of verified claims (middleware.TokenCache)
// asks it on every hit, so that a key removed from the set stops its
// tokens at once. It never fetches keys.
func (v *Verifier) Trusts(c *Claims) bool {
	return c != nil && v.keys.holds(c.KeyID)
}

// VerifyAccess verifies raw as an access token and returns its claims.
// Errors wrap one of the package's verification sentinels. ctx is reserved
// for key sources that may block; a local [KeySet] never does.
func (v *Verifier) VerifyAccess(ctx context.Context, raw string) (*Claims, error) {
	return v.verify(ctx, raw, Access)
}

// VerifyRefresh verifies raw as a refresh token (typ refresh+jwt, with jti
// and sid claims) and returns its claims.
func (v *Verifier) VerifyRefresh(ctx context.Context, raw string) (*Claims, error) {
	return v.verify(ctx, raw, Refresh)
}

// splitCompact returns the positions of the two dots of a token in
// strict compact form, or an error wrapping [ErrMalformed].
func splitCompact(raw string, maxBytes int) (int, int, error) {
	d1, d2, fault := compact.Split(raw, maxBytes)
	if fault != "" {
		return 0, 0, fail(ErrMalformed, fault)
	}
	return d1, d2, nil
}

// strictB64 rejects padding and non-zero trailing bits, so every byte
// string has exactly one accepted encoding.
var strictB64 = base64.RawURLEncoding.Strict()

// decodeSegment decodes seg, which the caller has already checked for the
// base64url alphabet, appending to dst.
func decodeSegment(dst, seg []byte) ([]byte, bool) {
	out, err := strictB64.AppendDecode(dst, seg)
	return out, err == nil
}

type header struct {
	alg    string
	hasAlg bool
	typ    string
	hasTyp bool
	kid    string
	hasKID bool
}

// forbiddenHeaders are members jwtkit never honours; their presence means
// the token was made for a processing model jwtkit does not implement.
var forbiddenHeaders = []string{"crit", "b64", "zip", "jku", "x5u", "jwk", "x5c", "cty", "enc", "epk", "p2c", "p2s", "apu", "apv", "iv", "tag"}

// parseHeader reads the protected header, member by member.
func parseHeader(s string) (header, error) {
	var h header
	var o objectReader
	if err := o.start(s, false); err != nil {
		return h, err
	}
	for {
		name, val, more, err := o.next()
		if err != nil || !more {
			return h, err
		}
		switch name {
		case "alg":
			if val.kind != kindString {
				return h, fail(ErrAlgorithm, "alg is not a string")
			}
			h.alg, h.hasAlg = val.str, true
		case "typ":
			if val.kind != kindString {
				return h, fail(ErrMalformed, "typ is not a string")
			}
			h.typ, h.hasTyp = val.str, true
		case "kid":
			if val.kind != kindString {
				return h, fail(ErrMalformed, "kid is not a string")
			}
			h.kid, h.hasKID = val.str, true
		default:
			for _, f := range forbiddenHeaders {
				if name == f {
					return h, fail(ErrHeader, "header member "+f+" is not allowed")
				}
			}
		}
	}
}

// typMatches compares a typ header with a media type per RFC 9068 §4:
// case-insensitive, with an optional "application/" prefix.
func typMatches(typ, want string) bool {
	if len(typ) > len("application/") && httpauth.EqualFoldASCII(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	return httpauth.EqualFoldASCII(typ, want)
}

func (v *Verifier) verify(ctx context.Context, raw string, use TokenUse) (*Claims, error) {
	key, payload, err := v.verifyJWS(ctx, raw, use)
	if err != nil {
		return nil, err
	}
	cb := &claimsBlock{}
	c := &cb.c
	c.Use, c.KeyID, c.raw = use, key.id, payload
	scope, scopeArray := "scope", false
	if use == Access {
		scope, scopeArray = v.scopeClaim, v.scopeArray
	}
	if err := parseClaims(cb, scope, scopeArray); err != nil {
		return nil, err
	}
	if err := v.checkClaims(c, use); err != nil {
		return nil, err
	}
	if use == Access && len(v.required) > 0 {
		if name := missingClaim(payload, v.required); name != "" {
			return nil, &verifyError{sentinel: ErrMissingClaim, detail: name}
		}
	}
	return c, nil
}

// verifyJWS applies every check up to and including the signature, and
// returns the key that verified raw and the decoded payload.
func (v *Verifier) verifyJWS(ctx context.Context, raw string, use TokenUse) (*Key, string, error) {
	d1, d2, err := splitCompact(raw, v.maxBytes)
	if err != nil {
		return nil, "", err
	}
	if strictB64.DecodedLen(d1) > maxHeaderBytes {
		return nil, "", fail(ErrMalformed, "header too long")
	}
	sc, _ := v.scratch.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	defer v.scratch.Put(sc)
	// The signature primitives and the base64 decoder take byte slices:
	// the token is copied once into reused memory.
	sc.token = append(sc.token[:0], raw...)
	tok := sc.token
	hseg, pseg, sseg := tok[:d1], tok[d1+1:d2], tok[d2+1:]

	hb, ok := decodeSegment(sc.buf[:0], hseg)
	if !ok {
		return nil, "", fail(ErrMalformed, "header is not canonical base64url")
	}
	sc.buf = hb[:0]
	h, err := parseHeader(string(hb))
	if err != nil {
		return nil, "", err
	}
	if !h.hasAlg {
		return nil, "", fail(ErrAlgorithm, "alg header missing")
	}
	alg := Algorithm(h.alg)
	if !alg.valid() || !v.keys.accepts(alg) {
		return nil, "", fail(ErrAlgorithm, "algorithm not accepted by this verifier")
	}
	key, err := v.keys.verificationKey(ctx, h.kid, h.hasKID)
	if err != nil {
		return nil, "", err
	}
	if key.alg != alg {
		return nil, "", fail(ErrAlgorithm, "alg header differs from the key's algorithm")
	}
	switch use {
	case Access:
		if !h.hasTyp {
			if !v.allowPlainJWT {
				return nil, "", fail(ErrTokenUse, "typ header missing")
			}
		} else if !typMatches(h.typ, typAccess) && !(v.allowPlainJWT && typMatches(h.typ, "JWT")) {
			return nil, "", fail(ErrTokenUse, "not an access token")
		}
	case Refresh:
		if !h.hasTyp || !typMatches(h.typ, typRefresh) {
			return nil, "", fail(ErrTokenUse, "not a refresh token")
		}
	}

	if strictB64.DecodedLen(len(sseg)) > maxSignatureBytes {
		return nil, "", fail(ErrSignature, "signature too long")
	}
	sig, ok := decodeSegment(sc.sig[:0], sseg)
	if !ok {
		return nil, "", fail(ErrMalformed, "signature is not canonical base64url")
	}
	signingInput := tok[:d2]
	if alg.family() == familyHMAC {
		if !sc.verifyHMAC(key, signingInput, sig) {
			return nil, "", fail(ErrSignature, "HMAC does not match")
		}
	} else if err := jwsbb.Verify(key.verifier, string(key.alg), signingInput, sig); err != nil {
		return nil, "", &verifyError{sentinel: ErrSignature, cause: err}
	}

	pb, ok := decodeSegment(sc.buf[:0], pseg)
	if !ok {
		return nil, "", fail(ErrMalformed, "payload is not canonical base64url")
	}
	sc.buf = pb[:0]
	return key, string(pb), nil
}

// scratch is the working memory of one verification.
type scratch struct {
	token []byte                  // the token, copied
	buf   []byte                  // decoded header, then payload
	sig   [maxSignatureBytes]byte // decoded signature
	key   *Key                    // the key mac is keyed with
	mac   hash.Hash               // keyed HMAC, reused while the key is
	sum   [sha512.Size]byte       // HMAC output
}

// verifyHMAC reports whether sig is key's HMAC of signingInput, compared
// in constant time. The keyed state is kept for the next token of the
// same key, which saves deriving the inner and outer pads every time.
func (sc *scratch) verifyHMAC(key *Key, signingInput, sig []byte) bool {
	secret, _ := key.verifier.([]byte)
	if len(secret) == 0 {
		return false
	}
	if sc.key != key {
		var h func() hash.Hash
		switch key.alg {
		case HS256:
			h = sha256.New
		case HS384:
			h = sha512.New384
		case HS512:
			h = sha512.New
		default:
			return false
		}
		sc.key, sc.mac = key, hmac.New(h, secret)
	} else {
		sc.mac.Reset()
	}
	sc.mac.Write(signingInput)
	return hmac.Equal(sc.mac.Sum(sc.sum[:0]), sig)
}

// claimsBlock allocates a Claims together with room for the usual
// audience and scope lists.
type claimsBlock struct {
	c      Claims
	aud    [1]string
	scopes [4]string
}

// parseClaims reads the claim set cb.c.raw into cb.c, with the scopes
// from the claim named scope (a string, or also an array with
// scopeArray). Lists go into cb's storage when they fit.
func parseClaims(cb *claimsBlock, scope string, scopeArray bool) error {
	c := &cb.c
	if len(c.raw) == 0 || c.raw[0] != '{' {
		return fail(ErrMalformed, "claims are not a JSON object")
	}
	var sawExp bool
	var o objectReader
	if err := o.start(c.raw, true); err != nil {
		return err
	}
	for {
		name, val, more, err := o.next()
		if err != nil {
			return err
		}
		if !more {
			break
		}
		if name == scope {
			if scopeArray && val.kind == kindArray {
				err = scopeArrayClaim(c, val, cb.scopes[:0:len(cb.scopes)])
			} else {
				err = scopeClaim(c, val, cb.scopes[:0:len(cb.scopes)])
			}
			if err != nil {
				return err
			}
			continue
		}
		switch name {
		case "sub":
			err = stringClaim(&c.Subject, val, "sub")
		case "iss":
			err = stringClaim(&c.Issuer, val, "iss")
		case "jti":
			err = stringClaim(&c.ID, val, "jti")
		case "sid":
			err = stringClaim(&c.FamilyID, val, "sid")
		case "exp":
			sawExp = true
			err = dateClaim(&c.ExpiresAt, val, "exp")
		case "nbf":
			err = dateClaim(&c.NotBefore, val, "nbf")
		case "iat":
			err = dateClaim(&c.IssuedAt, val, "iat")
		case "aud":
			err = audienceClaim(c, val, cb.aud[:0:len(cb.aud)])
		}
		if err != nil {
			return err
		}
	}
	if !sawExp {
		return fail(ErrMissingClaim, "exp")
	}
	return nil
}

func stringClaim(dst *string, val jsonValue, name string) error {
	if val.kind != kindString {
		return fail(ErrInvalidClaim, name+" is not a string")
	}
	*dst = val.str
	return nil
}

// NumericDate range: year 1 to year 9999, what time.Time represents.
const (
	minNumericDate = -62135596800
	maxNumericDate = 253402300799
)

func dateClaim(dst *time.Time, val jsonValue, name string) error {
	if val.kind != kindNumber {
		return fail(ErrInvalidClaim, name+" is not a JSON number")
	}
	if sec, err := strconv.ParseInt(val.raw, 10, 64); err == nil {
		if sec < minNumericDate || sec > maxNumericDate {
			return fail(ErrInvalidClaim, name+" out of range")
		}
		*dst = time.Unix(sec, 0)
		return nil
	}
	f, err := strconv.ParseFloat(val.raw, 64)
	if err != nil || math.IsNaN(f) || f < minNumericDate || f > maxNumericDate {
		return fail(ErrInvalidClaim, name+" out of range")
	}
	sec, frac := math.Modf(f)
	*dst = time.Unix(int64(sec), int64(frac*1e9))
	return nil
}

// audienceClaim sets c.Audience, appending to buf (which may have room).
func audienceClaim(c *Claims, val jsonValue, buf []string) error {
	switch val.kind {
	case kindString:
		c.Audience = append(buf, val.str)
		return nil
	case kindArray:
		out := buf
		r := jsonReader{s: val.raw, pos: 1}
		r.skipSpace()
		if r.peek() == ']' {
			c.Audience = []string{}
			return nil
		}
		for {
			r.skipSpace()
			if r.peek() != '"' {
				return fail(ErrInvalidClaim, "aud holds a non-string")
			}
			s, ok := r.readString()
			if !ok {
				return fail(ErrInvalidClaim, "aud")
			}
			out = append(out, s)
			r.skipSpace()
			if r.peek() == ',' {
				r.pos++
				continue
			}
			break
		}
		c.Audience = slices.Clip(out)
		return nil
	}
	return fail(ErrInvalidClaim, "aud is neither a string nor an array of strings")
}

// scopeClaim sets c.Scopes, using buf when the scopes fit.
func scopeClaim(c *Claims, val jsonValue, buf []string) error {
	if val.kind != kindString {
		return fail(ErrInvalidClaim, "scope is not a space-delimited string")
	}
	s := val.str
	if s == "" {
		return nil
	}
	n := strings.Count(s, " ") + 1
	out := buf[:0]
	if n > cap(buf) {
		out = make([]string, 0, n)
	}
	for part := range strings.SplitSeq(s, " ") {
		if !httpauth.ValidScopeToken(part) {
			return fail(ErrInvalidClaim, "scope is not a list of scope tokens separated by single spaces")
		}
		out = append(out, part)
	}
	c.Scopes = slices.Clip(out)
	return nil
}

func (v *Verifier) checkClaims(c *Claims, use TokenUse) error {
	now := v.now()
	l := v.leeway
	if !now.Before(c.ExpiresAt.Add(l)) {
		return fail(ErrExpired, "")
	}
	if !c.NotBefore.IsZero() && now.Add(l).Before(c.NotBefore) {
		return fail(ErrNotYetValid, "")
	}
	if !c.IssuedAt.IsZero() && now.Add(l).Before(c.IssuedAt) {
		return fail(ErrIssuedInFuture, "")
	}
	maxTTL := v.maxAccess
	if use == Refresh {
		maxTTL = v.maxRefresh
	}
	from := now
	if !c.IssuedAt.IsZero() {
		from = c.IssuedAt
	}
	if c.ExpiresAt.Sub(from) > maxTTL+l || c.ExpiresAt.Sub(now) > maxTTL+l {
		return fail(ErrLifetime, "")
	}
	if c.Subject == "" {
		return fail(ErrMissingClaim, "sub")
	}
	if !v.anyIssuer && c.Issuer != v.issuer {
		return fail(ErrIssuer, "")
	}
	switch {
	case v.anyAudience:
	case v.audience != "":
		if !slices.Contains(c.Audience, v.audience) {
			return fail(ErrAudience, "")
		}
	case len(c.Audience) > 0:
		// RFC 7519 §4.1.3: a recipient that does not identify itself
		// with a value of aud must refuse the token.
		return fail(ErrAudience, "the token names an audience and the verifier none")
	}
	if use == Refresh {
		if c.ID == "" {
			return fail(ErrMissingClaim, "jti")
		}
		if c.FamilyID == "" {
			return fail(ErrMissingClaim, "sid")
		}
	}
	return nil
}
