package middleware

import (
	"context"

	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/store"
)

type ctxKey int

const principalKey ctxKey = 0

// principal is what the middleware stores per request: one pointer to an
// immutable value.
type principal struct {
	claims  *jwt.Claims
	user    store.User
	hasUser bool
	onError ErrorHandler
}

// ClaimsFromContext returns the verified claims that RequireBearer or
// OptionalBearer stored in ctx.
func ClaimsFromContext(ctx context.Context) (*jwt.Claims, bool) {
	p, ok := ctx.Value(principalKey).(*principal)
	if !ok || p.claims == nil {
		return nil, false
	}
	return p.claims, true
}

// UserFromContext returns the user loaded by RequireBearer when it was
// built with [WithUsers].
func UserFromContext(ctx context.Context) (store.User, bool) {
	p, ok := ctx.Value(principalKey).(*principal)
	if !ok || !p.hasUser {
		return store.User{}, false
	}
	return p.user, true
}

// ContextWithClaims returns a copy of ctx carrying c, as RequireBearer
// would store it. It lets handler tests run without minting tokens.
func ContextWithClaims(ctx context.Context, c *jwt.Claims) context.Context {
	return context.WithValue(ctx, principalKey, &principal{claims: c})
}

// ContextWithUser returns a copy of ctx carrying c and u, as RequireBearer
// with WithUsers would store them.
func ContextWithUser(ctx context.Context, c *jwt.Claims, u store.User) context.Context {
	return context.WithValue(ctx, principalKey, &principal{claims: c, user: u, hasUser: true})
}

func errorHandlerFrom(ctx context.Context) ErrorHandler {
	if p, ok := ctx.Value(principalKey).(*principal); ok && p.onError != nil {
		return p.onError
	}
	return DefaultErrorHandler
}
