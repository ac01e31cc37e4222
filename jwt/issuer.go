package jwt

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jwtkit/jwtkit/internal/httpauth"
	"github.com/jwtkit/jwtkit/internal/tokenid"
)

// IssuerConfig configures an [Issuer].
type IssuerConfig struct {
	// Keys supplies the signing key (its active key). Required.
	Keys *KeySet
	// Issuer is put in the iss claim when set.
	Issuer string
	// Audience is put in the aud claim when set (a single value is
	// written as a string, several as an array).
	Audience []string
	// AccessTTL is the lifetime of access tokens. Default: 15 minutes,
	// short as RFC 9700 and OWASP advise.
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of refresh tokens. Default: 7 days, kept
	// in check by rotation.
	RefreshTTL time.Duration
	// Now returns the current time: the iat of tokens, and which key of a
	// scheduled key set ([NewScheduledKeySet]) signs. Default: time.Now.
	Now func() time.Time
}

// Issuer mints access and refresh tokens with the signing key of its key
// set. It is safe for concurrent use and follows [KeySet.Rotate] and a
// key set's schedule.
type Issuer struct {
	keys       *KeySet
	issuer     string
	audience   []string
	claimsHead []byte // `"iss":…,"aud":…,` prefix written into every token
	accessTTL  time.Duration
	refreshTTL time.Duration
	now        func() time.Time
}

// NewIssuer checks cfg and returns an Issuer.
func NewIssuer(cfg IssuerConfig) (*Issuer, error) {
	if cfg.Keys == nil {
		return nil, fmt.Errorf("%w: IssuerConfig.Keys is required", ErrConfig)
	}
	if err := cfg.Keys.built(); err != nil {
		return nil, fmt.Errorf("IssuerConfig.Keys: %w", err)
	}
	if !cfg.Keys.canSign() {
		return nil, fmt.Errorf("%w: the key set has no signing key", ErrConfig)
	}
	if cfg.AccessTTL < 0 || cfg.RefreshTTL < 0 {
		return nil, fmt.Errorf("%w: negative lifetime", ErrConfig)
	}
	i := &Issuer{
		keys:       cfg.Keys,
		issuer:     cfg.Issuer,
		audience:   slices.Clone(cfg.Audience),
		accessTTL:  cmp.Or(cfg.AccessTTL, 15*time.Minute),
		refreshTTL: cmp.Or(cfg.RefreshTTL, 7*24*time.Hour),
		now:        cfg.Now,
	}
	if i.now == nil {
		i.now = time.Now
	}
	var head []byte
	var ok bool
	if cfg.Issuer != "" {
		head = append(head, `"iss":`...)
		if head, ok = appendJSONString(head, cfg.Issuer); !ok {
			return nil, fmt.Errorf("%w: issuer is not valid UTF-8", ErrConfig)
		}
		head = append(head, ',')
	}
	switch len(cfg.Audience) {
	case 0:
	case 1:
		head = append(head, `"aud":`...)
		if head, ok = appendJSONString(head, cfg.Audience[0]); !ok {
			return nil, fmt.Errorf("%w: audience is not valid UTF-8", ErrConfig)
		}
		head = append(head, ',')
	default:
		head = append(head, `"aud":[`...)
		for n, a := range cfg.Audience {
			if n > 0 {
				head = append(head, ',')
			}
			if head, ok = appendJSONString(head, a); !ok {
				return nil, fmt.Errorf("%w: audience is not valid UTF-8", ErrConfig)
			}
		}
		head = append(head, "],"...)
	}
	i.claimsHead = head
	return i, nil
}

// Grant describes the token to issue.
type Grant struct {
	// Subject is the sub claim: the user's immutable ID. Required.
	Subject string
	// Scopes become the space-delimited scope claim. Each must be a
	// non-empty RFC 6749 scope token (no spaces, quotes or backslashes).
	Scopes []string
	// FamilyID is the sid claim naming the refresh family. Required for
	// refresh tokens; optional for access tokens (it lets a logout revoke
	// the session's access tokens).
	FamilyID string
	// ID is the jti. Empty: 128 random bits, base64url encoded.
	ID string
	// TTL overrides the issuer's lifetime for this token when positive.
	TTL time.Duration
	// ExpiresAt, when set, caps the expiry (e.g. the refresh family's
	// absolute end).
	ExpiresAt time.Time
	// Extra holds custom claims: anything that marshals to a JSON object.
	// Its names may not collide with the registered claims jwtkit writes.
	Extra any
}

// Token is a freshly issued token.
type Token struct {
	// Raw is the compact serialization to hand to the client.
	Raw string
	// Claims are the claims written into Raw.
	Claims *Claims
}

// IssueAccess returns a signed access token (typ at+jwt). ctx bounds the
// signature: a key held by a KMS or HSM stops when ctx is done (see
// [ContextSigner]) and the error wraps ctx.Err().
func (i *Issuer) IssueAccess(ctx context.Context, g Grant) (*Token, error) {
	return i.issue(ctx, g, Access)
}

// IssueRefresh returns a signed refresh token (typ refresh+jwt).
// g.FamilyID is required. ctx bounds the signature as for
// [Issuer.IssueAccess].
func (i *Issuer) IssueRefresh(ctx context.Context, g Grant) (*Token, error) {
	if g.FamilyID == "" {
		return nil, fmt.Errorf("%w: refresh tokens need a FamilyID", ErrMissingClaim)
	}
	return i.issue(ctx, g, Refresh)
}

func (i *Issuer) issue(ctx context.Context, g Grant, use TokenUse) (*Token, error) {
	if g.Subject == "" {
		return nil, fmt.Errorf("%w: Grant.Subject is required", ErrMissingClaim)
	}
	now := i.now()
	key := i.keys.snap.Load().activeAt(now)
	if key == nil {
		return nil, fmt.Errorf("%w: no signing key at %s", ErrConfig, now.UTC().Format(time.RFC3339))
	}
	ttl := g.TTL
	if ttl <= 0 {
		ttl = i.accessTTL
		if use == Refresh {
			ttl = i.refreshTTL
		}
	}
	exp := now.Add(ttl)
	if !g.ExpiresAt.IsZero() && g.ExpiresAt.Before(exp) {
		exp = g.ExpiresAt
	}
	// Whole seconds on the wire (python-jose and PyJWT coerce with int());
	// exp is rounded down so the token never outlives what was asked.
	iat := now.Unix()
	expSec := exp.Unix()
	if expSec <= iat {
		return nil, fmt.Errorf("%w: token would expire before it is issued", ErrConfig)
	}
	jti := g.ID
	if jti == "" {
		jti = tokenid.New()
	}
	for _, s := range g.Scopes {
		if !httpauth.ValidScopeToken(s) {
			return nil, fmt.Errorf("%w: scope %q is not a valid scope token", ErrInvalidClaim, s)
		}
	}

	buf := make([]byte, 0, 512)
	buf = append(buf, '{')
	buf = append(buf, i.claimsHead...)
	var ok bool
	buf = append(buf, `"sub":`...)
	if buf, ok = appendJSONString(buf, g.Subject); !ok {
		return nil, fmt.Errorf("%w: subject is not valid UTF-8", ErrInvalidClaim)
	}
	buf = append(buf, `,"exp":`...)
	buf = strconv.AppendInt(buf, expSec, 10)
	buf = append(buf, `,"iat":`...)
	buf = strconv.AppendInt(buf, iat, 10)
	buf = append(buf, `,"jti":`...)
	if buf, ok = appendJSONString(buf, jti); !ok {
		return nil, fmt.Errorf("%w: jti is not valid UTF-8", ErrInvalidClaim)
	}
	if len(g.Scopes) > 0 {
		buf = append(buf, `,"scope":"`...)
		for n, s := range g.Scopes {
			if n > 0 {
				buf = append(buf, ' ')
			}
			buf = append(buf, s...)
		}
		buf = append(buf, '"')
	}
	if g.FamilyID != "" {
		buf = append(buf, `,"sid":`...)
		if buf, ok = appendJSONString(buf, g.FamilyID); !ok {
			return nil, fmt.Errorf("%w: family ID is not valid UTF-8", ErrInvalidClaim)
		}
	}
	if g.Extra != nil {
		var err error
		if buf, err = appendExtra(buf, g.Extra); err != nil {
			return nil, err
		}
	}
	buf = append(buf, '}')
	payload := buf

	hdr := key.hdrAccess
	if use == Refresh {
		hdr = key.hdrRefres
	}
	enc := base64.RawURLEncoding
	out := make([]byte, 0, len(hdr)+1+enc.EncodedLen(len(payload))+1+700)
	out = append(out, hdr...)
	out = append(out, '.')
	out = enc.AppendEncode(out, payload)
	sig, err := key.sign(ctx, out)
	if err != nil {
		return nil, err
	}
	out = append(out, '.')
	out = enc.AppendEncode(out, sig)

	claims := &Claims{
		Subject:   g.Subject,
		Issuer:    i.issuer,
		Audience:  i.audience,
		ID:        jti,
		IssuedAt:  time.Unix(iat, 0),
		ExpiresAt: time.Unix(expSec, 0),
		Scopes:    slices.Clone(g.Scopes),
		FamilyID:  g.FamilyID,
		Use:       use,
		KeyID:     key.id,
		raw:       string(payload),
	}
	return &Token{Raw: string(out), Claims: claims}, nil
}

// appendExtra splices the members of Extra's JSON object into buf.
func appendExtra(buf []byte, extra any) ([]byte, error) {
	b, err := json.Marshal(extra)
	if err != nil {
		return nil, fmt.Errorf("%w: custom claims: %w", ErrInvalidClaim, err)
	}
	n := 0
	err = readObject(string(b), true, func(name string, _ jsonValue) error {
		// Leave room for the registered claims: the verifier refuses a
		// claim set of more than maxJSONMembers members.
		if n++; n > maxJSONMembers-len(registeredClaims) {
			return fmt.Errorf("%w: more than %d custom claims", ErrInvalidClaim, maxJSONMembers-len(registeredClaims))
		}
		for _, r := range registeredClaims {
			if strings.EqualFold(name, r) {
				return fmt.Errorf("%w: custom claim %q collides with a registered claim", ErrInvalidClaim, name)
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrMalformed) {
			return nil, fmt.Errorf("%w: custom claims must marshal to a JSON object with unique names", ErrInvalidClaim)
		}
		return nil, err
	}
	inner := strings.TrimSpace(string(b[1 : len(b)-1]))
	if inner == "" {
		return buf, nil
	}
	buf = append(buf, ',')
	return append(buf, inner...), nil
}
