package jwt

import (
	"context"
	"fmt"
)

// MultiVerifier verifies access tokens from several trusted issuers, each
// with its own [Verifier] (its own keys, audience and limits).
//
// A token is routed by its iss claim, read before the signature is checked
// (with the same strict parsing as the verifier's), to the one verifier
// configured for exactly that issuer; that verifier then checks everything,
// iss included. A token is never tried against several verifiers, so keys
// of one issuer can never vouch for a token claiming another. A token
// without iss, or naming an issuer that is not configured, fails with
// [ErrIssuer].
//
// Subjects are unique per issuer only: two issuers may both name a user
// "42". Code that keys anything by subject (user lookup, revocation by
// subject) must key it by issuer and subject together, or trust issuers
// that share one user namespace.
//
// MultiVerifier has the VerifyAccess method of [Verifier], so it can stand
// wherever a *Verifier verifies access tokens (middleware.RequireBearer).
// It is safe for concurrent use.
type MultiVerifier struct {
	byIssuer map[string]*Verifier
	maxBytes int
}

// NewMultiVerifier returns a MultiVerifier for verifiers, each configured
// with [VerifierConfig.Issuer]. Verifiers with AnyIssuer, nil verifiers,
// two verifiers for one issuer and an empty list fail with [ErrConfig].
func NewMultiVerifier(verifiers ...*Verifier) (*MultiVerifier, error) {
	if len(verifiers) == 0 {
		return nil, fmt.Errorf("%w: NewMultiVerifier needs at least one verifier", ErrConfig)
	}
	m := &MultiVerifier{byIssuer: make(map[string]*Verifier, len(verifiers))}
	for i, v := range verifiers {
		switch {
		case v == nil:
			return nil, fmt.Errorf("%w: verifier %d is nil", ErrConfig, i)
		case v.anyIssuer || v.issuer == "":
			return nil, fmt.Errorf("%w: verifier %d accepts any issuer; each verifier of a MultiVerifier needs its Issuer", ErrConfig, i)
		}
		if _, dup := m.byIssuer[v.issuer]; dup {
			return nil, fmt.Errorf("%w: two verifiers for issuer %q", ErrConfig, v.issuer)
		}
		m.byIssuer[v.issuer] = v
		m.maxBytes = max(m.maxBytes, v.maxBytes)
	}
	return m, nil
}

// VerifyAccess routes raw by its iss claim and verifies it as an access
// token with that issuer's [Verifier]. Errors wrap the verification
// sentinels, as [Verifier.VerifyAccess] does.
func (m *MultiVerifier) VerifyAccess(ctx context.Context, raw string) (*Claims, error) {
	iss, err := m.route(raw)
	if err != nil {
		return nil, err
	}
	v, ok := m.byIssuer[iss]
	if !ok {
		return nil, fail(ErrIssuer, "issuer not trusted")
	}
	return v.VerifyAccess(ctx, raw)
}

// Trusts reports whether the verifier for c's issuer still holds the key
// that verified c; see [Verifier.Trusts].
func (m *MultiVerifier) Trusts(c *Claims) bool {
	if c == nil {
		return false
	}
	v, ok := m.byIssuer[c.Issuer]
	return ok && v.Trusts(c)
}

// route reads the unverified iss claim.
func (m *MultiVerifier) route(raw string) (string, error) {
	d1, d2, err := splitCompact(raw, m.maxBytes)
	if err != nil {
		return "", err
	}
	pb, err := strictB64.DecodeString(raw[d1+1 : d2])
	if err != nil {
		return "", fail(ErrMalformed, "payload is not canonical base64url")
	}
	payload := string(pb)
	if len(payload) == 0 || payload[0] != '{' {
		return "", fail(ErrMalformed, "claims are not a JSON object")
	}
	var iss string
	var found bool
	err = readObject(payload, true, func(name string, val jsonValue) error {
		if name != "iss" {
			return nil
		}
		found = true
		return stringClaim(&iss, val, "iss")
	})
	if err != nil {
		return "", err
	}
	if !found || iss == "" {
		return "", fail(ErrIssuer, "iss claim missing")
	}
	return iss, nil
}
