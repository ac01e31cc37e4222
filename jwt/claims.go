package jwt

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// TokenUse says what a token is for. It is carried in the typ header:
// "at+jwt" for access tokens (RFC 9068) and "refresh+jwt" for refresh
// tokens, and each verification path accepts only its own kind.
type TokenUse uint8

// The token uses.
const (
	Access TokenUse = iota + 1
	Refresh
)

// String returns "access", "refresh" or "unknown".
func (u TokenUse) String() string {
	switch u {
	case Access:
		return "access"
	case Refresh:
		return "refresh"
	}
	return "unknown"
}

const (
	typAccess  = "at+jwt"
	typRefresh = "refresh+jwt"
)

// Claims are the verified claims of a token. Registered claims are typed
// fields; custom claims are read with [Claims.Decode] into a struct of the
// service's own, or one at a time with [Claim].
// Claims returned by a Verifier must be treated as read-only: they may be
// shared between requests.
type Claims struct {
	Subject   string    // sub
	Issuer    string    // iss
	Audience  []string  // aud (a single string on the wire becomes one element)
	ID        string    // jti
	IssuedAt  time.Time // iat; zero when absent
	NotBefore time.Time // nbf; zero when absent
	ExpiresAt time.Time // exp
	Scopes    []string  // scope (or the AccessProfile's scope claim), space-delimited on the wire
	FamilyID  string    // sid: the refresh family (login session) the token belongs to
	Use       TokenUse  // from the typ header
	KeyID     string    // kid of the key that verified the token

	raw string // the verified claims JSON
}

// registeredClaims are the names jwtkit sets itself; custom claims may not
// use them.
var registeredClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "sid", "typ", "cnf", "client_id"}

// HasScope reports whether the exact scope s was granted. Scope tokens are
// compared byte for byte: "admin" does not match "readadmin" or "Admin".
func (c *Claims) HasScope(s string) bool {
	return slices.Contains(c.Scopes, s)
}

// Decode unmarshals the whole verified claim set into v, typically a
// struct describing the service's custom claims. The claim set was checked
// for duplicate and case-variant names during verification, so
// encoding/json's case-insensitive field matching cannot read a claim two
// ways.
func (c *Claims) Decode(v any) error {
	if c.raw == "" {
		return fmt.Errorf("%w: no claim set", ErrMissingClaim)
	}
	if err := json.Unmarshal([]byte(c.raw), v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidClaim, err)
	}
	return nil
}

// rawClaim returns the JSON text of the claim name, and whether it is
// present.
func (c *Claims) rawClaim(name string) (string, bool) {
	var out string
	var found bool
	_ = readObject(c.raw, false, func(n string, v jsonValue) error {
		if n == name {
			out, found = v.raw, true
		}
		return nil
	})
	return out, found
}

// Claim reads the custom claim name of c into a value of type T. It
// reports false when the claim is absent, and an error wrapping
// [ErrInvalidClaim] when it does not decode into T.
func Claim[T any](c *Claims, name string) (T, bool, error) {
	var v T
	raw, ok := c.rawClaim(name)
	if !ok {
		return v, false, nil
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return v, true, fmt.Errorf("%w: %s: %w", ErrInvalidClaim, name, err)
	}
	return v, true, nil
}
