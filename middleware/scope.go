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
// RequireScope panics at construction if a scope is not a valid RFC 6749
// scope token, since that is a programming error.
func RequireScope(scopes ...string) func(http.Handler) http.Handler {
	for _, s := range scopes {
		if !httpauth.ValidScopeToken(s) {
			panic(fmt.Sprintf("middleware: RequireScope: %q is not a valid scope token", s))
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
