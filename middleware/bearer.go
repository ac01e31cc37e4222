package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jwtkit/jwtkit/internal/httpauth"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/store"
)

// AccessVerifier verifies access tokens. *jwt.Verifier implements it, as
// does any verifier built on a remote key set or several issuers.
type AccessVerifier interface {
	VerifyAccess(ctx context.Context, raw string) (*jwt.Claims, error)
}

// Option configures [RequireBearer], [OptionalBearer] and
// [NewAuthenticator].
type Option func(*options)

type options struct {
	users        UserSource
	userMapping  UserMapping
	revocations  store.Revocations
	failOpen     bool
	onError      ErrorHandler
	realm        string
	logger       *slog.Logger
	maxHeader    int
	storeTimeout time.Duration
	tokenCache   *TokenCache
	cookie       *cookieAuth // WithCookie
}

// WithUsers loads the user named by the token's sub (a user ID) on every
// request and stores it for [UserFromContext]. A user that is gone or
// disabled gets 401; a store that cannot answer gets 503.
//
// Users belong to their issuer: a sub names a user only in the eyes of the
// issuer that wrote it. So the users of u are the users of the verifier's
// issuer, and the verifier must name one issuer (a *jwt.Verifier with an
// Issuer, or any verifier with an Issuer method returning it);
// tokens of any other issuer need [WithUserMapping], and without it
// NewAuthenticator fails (and RequireBearer answers 503). Default: no
// lookup.
func WithUsers(u UserSource) Option { return func(o *options) { o.users = u } }

// UserMapping maps the subject of a token from issuer to the ID of a
// local user, reporting false when the token names no local user (the
// request then gets 401).
type UserMapping func(issuer, subject string) (userID string, ok bool)

// WithUserMapping gives [WithUsers] the local user of every token: the
// user whose ID m returns for the token's iss and sub. It is required
// with a jwt.MultiVerifier or a verifier that accepts any issuer, where
// the same sub may name different people at different issuers.
func WithUserMapping(m UserMapping) Option { return func(o *options) { o.userMapping = m } }

// UserSource is what [WithUsers] needs of a user store: the user by its
// ID, an error wrapping store.ErrNotFound when there is none. Every store
// in jwtkit has it; wrap your own users table in one method.
type UserSource interface {
	UserByID(ctx context.Context, id string) (store.User, error)
}

// WithRevocations consults r on every request: a revoked token (by jti,
// family or subject cut-off) gets 401, and so does a token without jti,
// which could not be revoked. If r cannot answer, the request is refused
// with 503 (fail closed) unless [WithInsecureRevocationFailOpen] is given.
// Default: no revocation check; verification stays fully stateless.
func WithRevocations(r store.Revocations) Option { return func(o *options) { o.revocations = r } }

// WithInsecureRevocationFailOpen lets requests through when the
// revocation store cannot answer. Revoked tokens are then accepted for the
// length of the outage; each such request is logged at warning level.
// Default: off (fail closed).
func WithInsecureRevocationFailOpen() Option { return func(o *options) { o.failOpen = true } }

// WithErrorHandler replaces the response written for refused requests.
// Default: [DefaultErrorHandler] (with the realm of [WithRealm]).
func WithErrorHandler(h ErrorHandler) Option {
	return func(o *options) { o.onError = h }
}

// WithRealm sets the realm attribute of WWW-Authenticate challenges.
// Default: none.
func WithRealm(realm string) Option { return func(o *options) { o.realm = realm } }

// WithLogger sets the logger for store failures. Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithStoreTimeout bounds each user or revocation lookup. A negative d is
// a configuration error. Default (or 0): 2 s.
func WithStoreTimeout(d time.Duration) Option { return func(o *options) { o.storeTimeout = d } }

// WithMaxHeaderBytes caps the Authorization header value. A negative n is
// a configuration error. Default (or 0): 8 KiB plus the scheme.
func WithMaxHeaderBytes(n int) Option { return func(o *options) { o.maxHeader = n } }

// Authenticator makes the bearer-authentication decision for a request.
// RequireBearer and OptionalBearer are built on it; use it directly where
// a response must be written differently (websockets, gRPC gateways), or
// to have a configuration error returned at start-up.
// It is safe for concurrent use.
type Authenticator struct {
	verifier AccessVerifier
	// truster is verifier when it can tell whether a key is still in its
	// key set (jwt.Verifier, jwt.MultiVerifier); the token cache asks it
	// on every hit.
	truster keyTruster
	opts    options
}

// NewAuthenticator returns an Authenticator for v configured by opts. A
// nil v or a negative option value is an error wrapping [ErrConfig].
func NewAuthenticator(v AccessVerifier, opts ...Option) (*Authenticator, error) {
	if v == nil {
		return nil, fmt.Errorf("%w: nil AccessVerifier", ErrConfig)
	}
	a := &Authenticator{verifier: v}
	a.truster, _ = v.(keyTruster)
	for _, o := range opts {
		o(&a.opts)
	}
	if a.opts.storeTimeout < 0 || a.opts.maxHeader < 0 {
		return nil, fmt.Errorf("%w: negative store timeout or header cap", ErrConfig)
	}
	if a.opts.users != nil && a.opts.userMapping == nil {
		one, ok := v.(interface{ Issuer() string })
		if !ok || one.Issuer() == "" {
			return nil, fmt.Errorf("%w: WithUsers with a verifier of several or any issuers needs WithUserMapping", ErrConfig)
		}
		local := one.Issuer()
		a.opts.userMapping = func(iss, sub string) (string, bool) { return sub, iss == local }
	}
	if err := a.opts.initCookie(); err != nil {
		return nil, err
	}
	if a.opts.onError == nil {
		a.opts.onError = NewErrorHandler(a.opts.realm)
	}
	if a.opts.logger == nil {
		a.opts.logger = slog.Default()
	}
	if a.opts.storeTimeout == 0 {
		a.opts.storeTimeout = 2 * time.Second
	}
	return a, nil
}

// Authenticate returns the verified claims of r's bearer token, and the
// user when the Authenticator loads users. The error wraps one of the
// package sentinels (and the underlying jwt or store error).
func (a *Authenticator) Authenticate(r *http.Request) (*jwt.Claims, *store.User, error) {
	raw, claims, err := a.credentials(r)
	switch {
	case errors.Is(err, httpauth.ErrNoCredentials):
		return nil, nil, ErrNoToken
	case errors.Is(err, httpauth.ErrAmbiguous):
		return nil, nil, ErrAmbiguousCredentials
	case errors.Is(err, ErrCrossOrigin):
		return nil, nil, err
	case err != nil:
		return nil, nil, ErrBadHeader
	}
	ctx := r.Context()
	if claims == nil {
		claims, err = a.verifier.VerifyAccess(ctx, raw)
		if err != nil {
			if errors.Is(err, jwt.ErrNoKeys) {
				return nil, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
			}
			return nil, nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
		a.opts.tokenCache.store(a, raw, claims)
	}
	if a.opts.revocations != nil {
		if err := a.checkRevoked(ctx, claims); err != nil {
			return nil, nil, err
		}
	}
	if a.opts.users == nil {
		return claims, nil, nil
	}
	id, ok := a.opts.userMapping(claims.Issuer, claims.Subject)
	if !ok {
		return nil, nil, fmt.Errorf("%w: the token's issuer has no users here", ErrUnknownUser)
	}
	lctx, cancel := context.WithTimeout(ctx, a.opts.storeTimeout)
	defer cancel()
	u, err := a.opts.users.UserByID(lctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, fmt.Errorf("%w: %w", ErrUnknownUser, err)
	case err != nil:
		a.opts.logger.LogAttrs(ctx, slog.LevelError, "jwtkit: user lookup failed", slog.String("error", err.Error()))
		return nil, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	case u.Disabled:
		return nil, nil, ErrUnknownUser
	}
	return claims, &u, nil
}

func (a *Authenticator) checkRevoked(ctx context.Context, c *jwt.Claims) error {
	if c.ID == "" {
		return fmt.Errorf("%w: token has no jti and cannot be checked for revocation", ErrInvalidToken)
	}
	rctx, cancel := context.WithTimeout(ctx, a.opts.storeTimeout)
	defer cancel()
	revoked, err := a.opts.revocations.IsRevoked(rctx, tokenRef(c))
	if err != nil {
		if a.opts.failOpen {
			a.opts.logger.LogAttrs(ctx, slog.LevelWarn, "jwtkit: revocation check failed; request allowed (fail-open)", slog.String("error", err.Error()))
			return nil
		}
		a.opts.logger.LogAttrs(ctx, slog.LevelError, "jwtkit: revocation check failed", slog.String("error", err.Error()))
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if revoked {
		return ErrRevoked
	}
	return nil
}

// tokenRef names the access token c for the revocation store.
func tokenRef(c *jwt.Claims) store.TokenRef {
	return store.TokenRef{ID: c.ID, Subject: c.Subject, FamilyID: c.FamilyID, IssuedAt: c.IssuedAt}
}

// RequireBearer returns middleware that lets a request through only with
// a valid bearer access token, and stores its claims (and user, with
// [WithUsers]) for [ClaimsFromContext] and [UserFromContext]. Refused
// requests get the error handler's response (RFC 6750 by default); the
// next handler is not called.
//
// Only the Authorization header is read, and with [WithCookie] a cookie.
// Tokens in the query string are never accepted.
//
// RequireBearer is [NewAuthenticator] followed by [Authenticator.Require].
// It returns no error so that it fits wherever middleware is listed: if
// NewAuthenticator refuses the configuration, the error is logged at once
// (with the logger of [WithLogger]) and every request is refused with 503
// (an error wrapping [ErrUnavailable] and [ErrConfig] for the error
// handler). Call NewAuthenticator to stop at start-up instead.
func RequireBearer(v AccessVerifier, opts ...Option) func(http.Handler) http.Handler {
	a, err := NewAuthenticator(v, opts...)
	if err != nil {
		return refuseAll(err, opts)
	}
	return a.Require
}

// OptionalBearer is like RequireBearer, except that a request without any
// bearer credentials is passed on without claims. A request that presents
// credentials that fail is still refused. An invalid configuration is
// handled as by RequireBearer.
func OptionalBearer(v AccessVerifier, opts ...Option) func(http.Handler) http.Handler {
	a, err := NewAuthenticator(v, opts...)
	if err != nil {
		return refuseAll(err, opts)
	}
	return a.Optional
}

// refuseAll is the middleware of an invalid configuration (err): it logs
// err once and refuses every request, failing closed.
func refuseAll(err error, opts []Option) func(http.Handler) http.Handler {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.onError == nil {
		o.onError = NewErrorHandler(o.realm)
	}
	o.logger.LogAttrs(context.Background(), slog.LevelError, "jwtkit: invalid middleware configuration; every request is refused", slog.String("error", err.Error()))
	err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	return func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { o.onError(w, r, err) })
	}
}

// Require is the middleware form of [Authenticator.Authenticate] that
// refuses requests without valid credentials.
func (a *Authenticator) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, user, err := a.Authenticate(r)
		if err != nil {
			a.opts.onError(w, r, err)
			return
		}
		next.ServeHTTP(w, a.withPrincipal(r, claims, user))
	})
}

// Optional is the middleware form that passes requests without credentials.
func (a *Authenticator) Optional(next http.Handler) http.Handler {
	// Requests without credentials carry no claims, but still the error
	// handler, so that a RequireScope further down answers with it.
	anonymous := &principal{onError: a.opts.onError}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, user, err := a.Authenticate(r)
		if errors.Is(err, ErrNoToken) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey, anonymous)))
			return
		}
		if err != nil {
			a.opts.onError(w, r, err)
			return
		}
		next.ServeHTTP(w, a.withPrincipal(r, claims, user))
	})
}

func (a *Authenticator) withPrincipal(r *http.Request, claims *jwt.Claims, user *store.User) *http.Request {
	p := &principal{claims: claims, onError: a.opts.onError}
	if user != nil {
		p.user, p.hasUser = *user, true
	}
	return r.WithContext(context.WithValue(r.Context(), principalKey, p))
}
