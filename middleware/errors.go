package middleware

import (
	"errors"
	"strings"
)

// Sentinel errors passed to an [ErrorHandler]. Each maps to one response in
// [DefaultErrorHandler]; errors from the verifier and the stores are
// wrapped, so errors.Is also finds jwt and store sentinels.
var (
	// ErrNoToken: the request carries no bearer token (401, challenge
	// without an error code, RFC 6750 §3.1).
	ErrNoToken = errors.New("middleware: no bearer token")
	// ErrBadHeader: the Authorization header names Bearer but is not one
	// well-formed token (401 invalid_token).
	ErrBadHeader = errors.New("middleware: malformed authorization header")
	// ErrAmbiguousCredentials: several Authorization headers, or a header
	// and an access_token query parameter (400 invalid_request).
	ErrAmbiguousCredentials = errors.New("middleware: more than one set of credentials")
	// ErrInvalidToken: the token failed verification (401 invalid_token).
	ErrInvalidToken = errors.New("middleware: invalid token")
	// ErrRevoked: the token was revoked (401 invalid_token).
	ErrRevoked = errors.New("middleware: token revoked")
	// ErrUnknownUser: the token's subject is unknown or disabled (401
	// invalid_token).
	ErrUnknownUser = errors.New("middleware: unknown or disabled user")
	// ErrInsufficientScope: the token lacks a required scope (403
	// insufficient_scope). The error is a *ScopeError.
	ErrInsufficientScope = errors.New("middleware: insufficient scope")
	// ErrUnavailable: a store needed for the decision could not answer
	// (503 with Retry-After).
	ErrUnavailable = errors.New("middleware: service unavailable")
	// ErrCrossOrigin: a request authenticated by a cookie failed CSRF
	// protection (403); see [WithCookie].
	ErrCrossOrigin = errors.New("middleware: cross-origin request refused")
	// ErrConfig: a constructor was given an invalid value.
	ErrConfig = errors.New("middleware: invalid configuration")
)

// ScopeError reports the scopes a route requires. It wraps
// [ErrInsufficientScope].
type ScopeError struct {
	Required []string
}

func (e *ScopeError) Error() string {
	return ErrInsufficientScope.Error() + ": requires " + strings.Join(e.Required, " ")
}

// Unwrap returns ErrInsufficientScope.
func (e *ScopeError) Unwrap() error { return ErrInsufficientScope }
