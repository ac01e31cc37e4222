package jwt

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jwtkit/jwtkit/internal/httpauth"
)

// AccessProfile adapts access-token verification to the way another
// issuer shapes its tokens; with [VerifierConfig.AllowPlainJWT] (typ
// "JWT" or absent) it covers the common identity providers, as the README
// lists. The zero value is jwtkit's own shape: scopes in a space-delimited
// "scope" string (RFC 9068 §2.2.3) and no claims required beyond exp, sub
// and iss. The profile applies to access tokens only; refresh tokens are
// always jwtkit's own.
type AccessProfile struct {
	// ScopeClaim names the claim that carries the granted scopes, read
	// into [Claims.Scopes]: "scp" for Okta and Microsoft Entra ID, for
	// example. It may not name a claim the verifier reads for another
	// purpose (iss, sub, aud, exp, nbf, iat, jti, sid). Default: "scope".
	ScopeClaim string
	// ScopeArray accepts the scope claim as a JSON array of scope tokens
	// (Okta's scp, Spring Authorization Server's scope) as well as a
	// space-delimited string. Each element must be one scope token.
	// Default: false (a string only).
	ScopeArray bool
	// RequiredClaims lists claims an access token must carry, with a
	// value other than null, "", [] or {}; a token without one fails with
	// [ErrMissingClaim]. RFC 9068 §2.2 access tokens, for example, always
	// carry client_id and jti. Default: none beyond exp and sub (and iss,
	// unless AnyIssuer).
	RequiredClaims []string
}

// verifierReadClaims are the claims a Verifier reads itself; a scope
// claim of another name must not shadow them.
var verifierReadClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid"}

// check validates p and returns the scope claim name to use.
func (p AccessProfile) check() (string, error) {
	name := p.ScopeClaim
	if name == "" {
		name = "scope"
	}
	if !httpauth.ValidScopeToken(name) || slices.Contains(verifierReadClaims, name) {
		return "", fmt.Errorf("%w: AccessProfile.ScopeClaim %q cannot carry scopes", ErrConfig, p.ScopeClaim)
	}
	for _, c := range p.RequiredClaims {
		if c == "" || strings.TrimSpace(c) != c {
			return "", fmt.Errorf("%w: AccessProfile.RequiredClaims holds an invalid name %q", ErrConfig, c)
		}
	}
	return name, nil
}

// missingClaim returns the first of names that the claim set raw lacks or
// holds as null, "", [] or {}, and "" when all are present.
func missingClaim(raw string, names []string) string {
	present := make([]bool, len(names))
	_ = readObject(raw, false, func(n string, v jsonValue) error {
		i := slices.Index(names, n)
		if i < 0 {
			return nil
		}
		switch v.kind {
		case kindNull:
		case kindString:
			present[i] = v.str != ""
		case kindArray, kindObject:
			present[i] = strings.TrimSpace(v.raw[1:len(v.raw)-1]) != ""
		default:
			present[i] = true
		}
		return nil
	})
	for i, ok := range present {
		if !ok {
			return names[i]
		}
	}
	return ""
}

// scopeArrayClaim reads a JSON array of scope tokens into c.Scopes.
func scopeArrayClaim(c *Claims, val jsonValue, buf []string) error {
	out := buf[:0]
	r := jsonReader{s: val.raw, pos: 1}
	r.skipSpace()
	if r.peek() == ']' {
		return nil
	}
	for {
		r.skipSpace()
		if r.peek() != '"' {
			return fail(ErrInvalidClaim, "a scope array holds a non-string")
		}
		s, ok := r.readString()
		if !ok || !httpauth.ValidScopeToken(s) {
			return fail(ErrInvalidClaim, "a scope array element is not one scope token")
		}
		out = append(out, s)
		r.skipSpace()
		if r.peek() != ',' {
			break
		}
		r.pos++
	}
	c.Scopes = slices.Clip(out)
	return nil
}
