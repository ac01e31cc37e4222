// Package authserver is the authorization-server side of jwtkit: the
// OAuth 2.0 token endpoint with the password and refresh_token grants
// ([TokenHandler]), the FastAPI recipe's POST /refresh, token revocation
// (RFC 7009), logout, subject-wide revocation, JWKS publishing, login
// throttling and audit events. Resource servers that only verify tokens
// need package middleware, not this one.
//
// A TokenHandler is built once from a [TokenHandlerConfig] and then serves
// any number of concurrent requests:
//
//	tokens, err := authserver.NewTokenHandler(authserver.TokenHandlerConfig{
//		Users: db, Issuer: iss, Verifier: ver, Refresh: db, Revocations: db})
//	mux.Handle("POST /token", tokens)
//	mux.Handle("POST /refresh", tokens.RefreshHandler())
//	mux.Handle("POST /logout", tokens.LogoutHandler())
//
// # Browser sessions
//
// With TokenHandlerConfig.Cookies, [TokenHandler.CookieHandler] serves
// browser apps: the refresh token travels only in an HttpOnly cookie,
// and every request passes CSRF protection (see [CookieConfig]). The
// endpoints above never read cookies, so JSON clients are unaffected.
//
// # Responses
//
// The token endpoint answers RFC 6749 §5.1 and §5.2 bodies (plus the
// recipe's detail field) with Cache-Control: no-store, so OAuth 2.0 client
// libraries such as golang.org/x/oauth2 work against it unchanged.
//
// # Security
//
// Login failures for an unknown user, a disabled user and a wrong
// password produce byte-identical responses after the same password work
// (a dummy comparison at the configured cost for unknown users). Password
// hashing runs under a concurrency bound, so a login flood queues and then
// gets 503 instead of starving the rest of the service. Credentials are
// read from the POST body only; repeated parameters are refused.
package authserver
