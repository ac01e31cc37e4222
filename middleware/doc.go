// Package middleware is jwtkit's net/http face: bearer authentication
// ([RequireBearer], [OptionalBearer], [RequireScope]), the OAuth 2.0 token
// endpoint with the password and refresh_token grants ([TokenHandler]),
// refresh, revocation (RFC 7009) and logout, and JWKS publishing.
//
// Everything is built once at start-up from a config or options and then
// serves any number of concurrent requests:
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
//
// The token endpoint answers RFC 6749 §5.1 and §5.2 bodies (plus the
// recipe's detail field) with Cache-Control: no-store, so OAuth 2.0 client
// libraries such as golang.org/x/oauth2 work against it unchanged.
//
// # Security
//
// Only the Authorization header carries bearer tokens; query-string tokens
// are never read. The header is parsed strictly: case-insensitive scheme,
// exactly one b64token, bounded length, one header only.
//
// Login failures for an unknown user, a disabled user and a wrong
// password produce byte-identical responses after the same password work
// (a dummy comparison at the configured cost for unknown users). Password
// hashing runs under a concurrency bound, so a login flood queues and then
// gets 503 instead of starving the rest of the service. Credentials are
// read from the POST body only; repeated parameters are refused.
//
// With [WithRevocations], every request consults the revocation store and
// is refused with 503 when the store cannot answer, unless
// [WithInsecureRevocationFailOpen] says otherwise.
package middleware
