package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/jwtkit/jwtkit/internal/httpauth"
)

// ErrorHandler writes the response for a request refused by the
// middleware. err wraps one of the package's sentinel errors.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// DefaultErrorHandler answers per RFC 6750 with the recipe's JSON body
// shape {"detail": …}. It never writes error text from the chain: status,
// challenge and body come from a fixed table keyed by sentinel.
//
//	ErrNoToken               401  Bearer                                {"detail":"Not authenticated"}
//	ErrBadHeader, ErrInvalidToken,
//	ErrRevoked, ErrUnknownUser 401  Bearer error="invalid_token"          {"detail":"Could not validate credentials"}
//	ErrAmbiguousCredentials  400  Bearer error="invalid_request"        {"detail":"Invalid request"}
//	ErrInsufficientScope     403  Bearer error="insufficient_scope", scope="…"  {"detail":"Not enough permissions"}
//	ErrCrossOrigin           403                                        {"detail":"Cross-origin request refused"}
//	ErrUnavailable, other    503  Retry-After: 5                        {"detail":"Service unavailable"}
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	defaultErrorHandler(w, r, err)
}

var defaultErrorHandler = NewErrorHandler("")

// refusal is one response of the error handler, built once.
type refusal struct {
	status     int
	challenge  string // WWW-Authenticate, if any
	retryAfter string // Retry-After, if any
	body       []byte
}

func (f refusal) write(w http.ResponseWriter) {
	h := w.Header()
	if f.challenge != "" {
		h.Set("WWW-Authenticate", f.challenge)
	}
	if f.retryAfter != "" {
		h.Set("Retry-After", f.retryAfter)
	}
	writeBody(w, f.status, f.body)
}

// NewErrorHandler returns [DefaultErrorHandler] with a realm in its
// challenges.
func NewErrorHandler(realm string) ErrorHandler {
	// Every response but the scope challenge is fixed by the realm: build
	// them here, so that refusals (expired tokens, scanners) cost no
	// formatting.
	var (
		noToken     = refusal{http.StatusUnauthorized, httpauth.Challenge(realm, "", "", ""), "", detailBody("Not authenticated")}
		ambiguous   = refusal{http.StatusBadRequest, httpauth.Challenge(realm, "invalid_request", "more than one set of credentials", ""), "", detailBody("Invalid request")}
		noScope     = refusal{http.StatusForbidden, "", "", detailBody("Not enough permissions")}
		invalid     = refusal{http.StatusUnauthorized, httpauth.Challenge(realm, "invalid_token", "the access token is invalid", ""), "", detailBody("Could not validate credentials")}
		unavailable = refusal{http.StatusServiceUnavailable, "", "5", detailBody("Service unavailable")}
		crossOrigin = refusal{http.StatusForbidden, "", "", detailBody("Cross-origin request refused")}
	)
	return func(w http.ResponseWriter, r *http.Request, err error) {
		switch {
		case errors.Is(err, ErrNoToken):
			noToken.write(w)
		case errors.Is(err, ErrAmbiguousCredentials):
			ambiguous.write(w)
		case errors.Is(err, ErrCrossOrigin):
			crossOrigin.write(w)
		case errors.Is(err, ErrInsufficientScope):
			scope := ""
			var scopeErr *ScopeError
			if errors.As(err, &scopeErr) {
				scope = strings.Join(scopeErr.Required, " ")
			}
			f := noScope
			f.challenge = httpauth.Challenge(realm, "insufficient_scope", "the token lacks a required scope", scope)
			f.write(w)
		case errors.Is(err, ErrBadHeader), errors.Is(err, ErrInvalidToken),
			errors.Is(err, ErrRevoked), errors.Is(err, ErrUnknownUser):
			invalid.write(w)
		default:
			unavailable.write(w)
		}
	}
}

// detailBody returns the body {"detail": detail} and its final newline.
func detailBody(detail string) []byte {
	body, _ := json.Marshal(map[string]string{"detail": detail}) // a map of strings always marshals
	return append(body, '\n')
}

// writeBody writes body, JSON ending in a newline. It does not modify
// body, which may be shared by many responses.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
