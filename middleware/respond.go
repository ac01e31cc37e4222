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
//	ErrUnavailable, other    503  Retry-After: 5                        {"detail":"Service unavailable"}
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	NewErrorHandler("")(w, r, err)
}

// NewErrorHandler returns [DefaultErrorHandler] with a realm in its
// challenges.
func NewErrorHandler(realm string) ErrorHandler {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		var scopeErr *ScopeError
		switch {
		case errors.Is(err, ErrNoToken):
			w.Header().Set("WWW-Authenticate", httpauth.Challenge(realm, "", "", ""))
			writeDetail(w, http.StatusUnauthorized, "Not authenticated")
		case errors.Is(err, ErrAmbiguousCredentials):
			w.Header().Set("WWW-Authenticate", httpauth.Challenge(realm, "invalid_request", "more than one set of credentials", ""))
			writeDetail(w, http.StatusBadRequest, "Invalid request")
		case errors.Is(err, ErrInsufficientScope):
			scope := ""
			if errors.As(err, &scopeErr) {
				scope = strings.Join(scopeErr.Required, " ")
			}
			w.Header().Set("WWW-Authenticate", httpauth.Challenge(realm, "insufficient_scope", "the token lacks a required scope", scope))
			writeDetail(w, http.StatusForbidden, "Not enough permissions")
		case errors.Is(err, ErrBadHeader), errors.Is(err, ErrInvalidToken),
			errors.Is(err, ErrRevoked), errors.Is(err, ErrUnknownUser):
			w.Header().Set("WWW-Authenticate", httpauth.Challenge(realm, "invalid_token", "the access token is invalid", ""))
			writeDetail(w, http.StatusUnauthorized, "Could not validate credentials")
		default:
			w.Header().Set("Retry-After", "5")
			writeDetail(w, http.StatusServiceUnavailable, "Service unavailable")
		}
	}
}

func writeDetail(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]string{"detail": detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only fixed, marshalable values reach here.
		body = []byte(`{"detail":"Internal error"}`)
		status = http.StatusInternalServerError
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
