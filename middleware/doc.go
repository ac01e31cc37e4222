// Package middleware is the resource-server side of jwtkit: net/http
// middleware that admits requests carrying a valid bearer access token
// ([RequireBearer], [OptionalBearer], [RequireScope]) and hands the
// verified claims to the handler. It issues nothing and hashes no
// passwords; the token endpoint, refresh, revocation and logout live in
// package authserver.
//
// Everything is built once at start-up from options and then serves any
// number of concurrent requests:
//
//	auth := middleware.RequireBearer(verifier, middleware.WithUsers(db), middleware.WithRevocations(db))
//	mux.Handle("GET /users/me", auth(meHandler))
//	mux.Handle("GET /admin", auth(middleware.RequireScope("admin")(adminHandler)))
//
// The middleware works with http.ServeMux, chi, gorilla/mux and any router
// that takes func(http.Handler) http.Handler.
//
// # Responses
//
// Refusals follow RFC 6750 and keep the JSON body shape of FastAPI's
// OAuth2 recipe ({"detail": …}); see [DefaultErrorHandler] for the table.
// A request without credentials gets 401 with a bare Bearer challenge; an
// invalid, expired, revoked or otherwise unusable token 401 with
// error="invalid_token"; a missing scope 403 with
// error="insufficient_scope"; two sets of credentials 400 with
// error="invalid_request"; a store that cannot answer 503. Bodies and
// challenges come from fixed strings, never from error text or token data.
// [WithErrorHandler] replaces the format.
//
// # Security
//
// Only the Authorization header carries bearer tokens; query-string tokens
// are never read. The header is parsed strictly: case-insensitive scheme,
// exactly one b64token, bounded length, one header only.
//
// With [WithRevocations], every request consults the revocation store and
// is refused with 503 when the store cannot answer, unless
// [WithInsecureRevocationFailOpen] says otherwise.
package middleware
