package middleware

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/jwtkit/jwtkit/internal/csrf"
	"github.com/jwtkit/jwtkit/internal/httpauth"
	"github.com/jwtkit/jwtkit/jwt"
)

// cookieAuth is the configuration of [WithCookie].
type cookieAuth struct {
	access, csrf string
	trusted      []string
	protect      *csrf.Protection
}

// WithCookie also reads the access token from the cookie named access,
// as authserver's cookie sessions set it with CookieConfig.AccessCookie
// ("__Host-jwtkit-access", or "jwtkit-access" over plain-http
// development). The Authorization header wins; a request whose header and
// cookie carry different tokens is refused as ambiguous (400), and so is
// one with two such cookies.
//
// A request authenticated by the cookie alone must pass CSRF protection,
// as authserver's cookie endpoints do: net/http's CrossOriginProtection
// (Sec-Fetch-Site, else Origin against Host; requests from the trusted
// origins pass) refuses cross-origin requests with non-safe methods, and
// such a request that carries neither header must send the session's CSRF
// token in an X-CSRF-Token header equal to the cookie named csrf
// ("__Host-jwtkit-csrf", or "jwtkit-csrf"). Refusals wrap [ErrCrossOrigin]
// (403). Default: only the Authorization header is read.
func WithCookie(access, csrf string, trustedOrigins ...string) Option {
	return func(o *options) {
		o.cookie = &cookieAuth{access: access, csrf: csrf, trusted: append([]string(nil), trustedOrigins...)}
	}
}

// initCookie checks and completes the WithCookie configuration.
func (o *options) initCookie() error {
	c := o.cookie
	if c == nil {
		return nil
	}
	if !validCookieName(c.access) || !validCookieName(c.csrf) || c.access == c.csrf {
		return fmt.Errorf("%w: WithCookie needs two distinct cookie names", ErrConfig)
	}
	p, err := csrf.New(c.csrf, c.trusted)
	if err != nil {
		return fmt.Errorf("%w: WithCookie: %w", ErrConfig, err)
	}
	c.protect = p
	return nil
}

// validCookieName reports whether n is a cookie name (an RFC 7230 token).
func validCookieName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= ' ' || c >= 0x7f || c == '=' || c == ';' || c == ',' || c == '"' || c == '(' || c == ')' ||
			c == '/' || c == '<' || c == '>' || c == '@' || c == '[' || c == ']' || c == '\\' || c == '?' ||
			c == ':' || c == '{' || c == '}' {
			return false
		}
	}
	return true
}

// credentials returns r's access token from the Authorization header or,
// with WithCookie, the access cookie, and its claims when the token cache
// holds it.
func (a *Authenticator) credentials(r *http.Request) (string, *jwt.Claims, error) {
	raw, claims, err := a.bearerToken(r)
	c := a.opts.cookie
	if c == nil {
		return raw, claims, err
	}
	cs := r.CookiesNamed(c.access)
	switch {
	case len(cs) > 1:
		return "", nil, httpauth.ErrAmbiguous
	case len(cs) == 0 || cs[0].Value == "":
		return raw, claims, err
	}
	cookie := cs[0].Value
	if err == nil {
		if raw != cookie {
			return "", nil, httpauth.ErrAmbiguous // two different credentials
		}
		return raw, claims, nil
	}
	if !errors.Is(err, httpauth.ErrNoCredentials) {
		return "", nil, err
	}
	// The cookie alone: the browser sent it, perhaps for another site.
	if err := c.protect.Check(r); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrCrossOrigin, err)
	}
	limit := a.opts.maxHeader
	if limit == 0 {
		limit = httpauth.DefaultMaxHeaderBytes
	}
	if len(cookie) > limit {
		return "", nil, httpauth.ErrMalformed
	}
	if claims, ok := a.opts.tokenCache.lookup(a, cookie); ok {
		return cookie, claims, nil
	}
	if !httpauth.IsB64Token(cookie) {
		return "", nil, httpauth.ErrMalformed
	}
	return cookie, nil, nil
}
