package middleware

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/jwtkit/jwtkit/internal/httpauth"
)

// RequireScope returns middleware that lets a request through only when
// the claims stored by RequireBearer grant every one of scopes. Scopes are
// compared exactly. A request without claims gets the no-token response; a
// missing scope gets 403 insufficient_scope naming the required scopes.
// It uses the error handler configured on RequireBearer.
//
// A scope that is not a valid RFC 6749 scope token can never be granted:
// RequireScope logs that at once (slog.Default) and the route refuses
// every request with 503 (an error wrapping ErrUnavailable and ErrConfig),
// failing closed.
func RequireScope(scopes ...string) func(http.Handler) http.Handler {
	for _, s := range scopes {
		if !httpauth.ValidScopeToken(s) {
			return refuseAll(fmt.Errorf("%w: RequireScope: %q is not a valid scope token", ErrConfig, s), nil)
		}
	}
	required := slices.Clone(scopes)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, ok := ClaimsFromContext(r.Context())
			if !ok {
				errorHandlerFrom(r.Context())(w, r, ErrNoToken)
				return
			}
			for _, s := range required {
				if !claims.HasScope(s) {
					errorHandlerFrom(r.Context())(w, r, &ScopeError{Required: required})
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
