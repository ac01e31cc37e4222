package authserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jwtkit/jwtkit/internal/httpauth"
	"github.com/jwtkit/jwtkit/internal/tokenid"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/password"
	"github.com/jwtkit/jwtkit/store"
)

// Limits of the token endpoint.
const (
	// defaultMaxBody caps request bodies of the token, refresh, revoke and
	// logout endpoints.
	defaultMaxBody = 16 << 10
	// maxUsernameBytes caps the username parameter.
	maxUsernameBytes = 256
	// defaultFamilyTTL is the absolute lifetime of a login session.
	defaultFamilyTTL = 7 * 24 * time.Hour

	defaultAccessTTL  = 15 * time.Minute
	defaultRefreshTTL = 7 * 24 * time.Hour
)

// TokenHandlerConfig configures a [TokenHandler].
type TokenHandlerConfig struct {
	// Users finds accounts by username (login) and ID (refresh). Required.
	Users store.Users
	// Passwords checks and, with Rehash, upgrades password hashes.
	// Default: &password.Hasher{} (bcrypt, cost 12).
	Passwords *password.Hasher
	// Rehash, when set, receives upgraded hashes after a successful login
	// whose stored hash is outdated (password.Hasher.NeedsRehash).
	Rehash HashWriter
	// Issuer mints the tokens. Required.
	Issuer *jwt.Issuer
	// Verifier verifies refresh tokens (refresh grant, revoke) and access
	// tokens (logout, revoke). Required.
	Verifier *jwt.Verifier
	// Refresh stores refresh-token families. Nil: no refresh tokens are
	// issued and the refresh grant is refused (unsupported_grant_type).
	Refresh store.RefreshTokens
	// Revocations records revoked access tokens (logout, revoke,
	// RevokeAll). Nil: logout and revoke end the refresh family only.
	// Serve Refresh and Revocations from the same backend, so that a
	// revoked family also revokes its access tokens.
	Revocations store.Revocations
	// AccessTTL is the lifetime of access tokens issued here. Default:
	// 15 minutes.
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of each refresh token; rotation issues a
	// new one, never past the session's FamilyTTL. Default: 7 days.
	RefreshTTL time.Duration
	// FamilyTTL is the absolute lifetime of a login session; rotation never
	// extends it. Default: 7 days.
	FamilyTTL time.Duration
	// Grace lets a client retry a refresh whose response it lost (a
	// timeout, a 503 whose rotation was applied later, a crash, a
	// disconnect), with the same refresh token, for this long after the
	// rotation, as long as the successor has not been used: the retry gets
	// a fresh pair that replaces the unused successor, so there is never a
	// second live branch. Once the successor has been presented, the old
	// token is reuse and ends the session (RFC 9700 §4.14.2). At most
	// one minute. Default: 30 s, well above StoreTimeout plus a client's
	// retry back-off, and short enough that a stolen predecessor is worth
	// something only until the client refreshes again.
	Grace time.Duration
	// NoGrace turns the retry window off: any second use of a refresh
	// token is reuse and ends the session, so a refresh whose response
	// was lost ends it too. Default: false.
	NoGrace bool
	// RefreshLimit bounds how often one session (refresh family) may
	// refresh; a refresh over it gets 429 with Retry-After and leaves the
	// session as it was. Default: 10 refreshes at once, then one every
	// 6 s.
	RefreshLimit RefreshLimit
	// RequireGrantType refuses password requests without grant_type.
	// Default: false, so clients written for the FastAPI recipe, which
	// omit it, keep working.
	RequireGrantType bool
	// MaxBody caps request bodies. Default: 16 KiB.
	MaxBody int64
	// MaxConcurrentHashes bounds password hashing running at once; a login
	// that cannot start hashing within HashQueueWait gets 503 with
	// Retry-After. Default: GOMAXPROCS.
	MaxConcurrentHashes int
	// HashQueueWait is how long a login waits for a hashing slot.
	// Default: 2 s.
	HashQueueWait time.Duration
	// Guard throttles login attempts. Default: an in-memory
	// authserver/throttle with its default policy, which suits one
	// instance; give every instance the same authserver/redisthrottle
	// when there are several, or NoLoginGuard() when a gateway throttles
	// logins already.
	Guard LoginGuard
	// DeviceCookie, when set, gives browsers that logged in before a
	// failure budget of their own (see DeviceCookieConfig). Default: off.
	DeviceCookie *DeviceCookieConfig
	// ClientAddr extracts the client address used by Guard and audit
	// events. Default: the connection's address (RemoteAddr). Behind a
	// reverse proxy that address is the proxy's, and every client would
	// share one address budget: use TrustedProxyAddr there. (With the
	// default, the first request that carries a forwarding header is
	// logged as a warning.)
	ClientAddr func(r *http.Request) string
	// Audit receives security events. Default: events are logged with
	// Logger.
	Audit AuditFunc
	// Logger logs audit events (with the default Audit) and store
	// failures. Default: slog.Default().
	Logger *slog.Logger
	// StoreTimeout bounds each store call: a store that stalls costs a
	// client this long, then a 503. Default: 2 s, as in RequireBearer.
	StoreTimeout time.Duration
	// Claims, when set, returns custom claims for the access token of user
	// u, granted scopes. It runs at login and again at every refresh with
	// the user as stored now, so a changed role applies from the next
	// refresh. It may not name a claim jwtkit sets (iss, sub, aud, exp, nbf,
	// iat, jti, typ, scope, sid, cnf, client_id): that, or an error it
	// returns, fails the grant with 503 temporarily_unavailable and logs
	// the cause; nothing is stored and no token is issued.
	Claims func(ctx context.Context, u store.User, scopes []string) (map[string]any, error)
	// Now is the clock for session records; give it the Issuer's clock.
	// Default: time.Now.
	Now func() time.Time
	// ErrorWriter writes error answers of every endpoint of the handler.
	// Default: DefaultErrorWriter.
	ErrorWriter ErrorWriter
	// Cookies, when set, enables browser sessions: the endpoints of
	// CookieHandler, which keep the refresh token in an HttpOnly cookie.
	// It needs Refresh. Default: nil (CookieHandler answers 404).
	Cookies *CookieConfig
}

// HashWriter stores a user's upgraded password hash: the one write the
// token endpoint makes to a users table. The write must be a
// compare-and-swap, replacing the hash only if it is still the one the
// login checked, so that a password changed during the login is never
// overwritten with a hash of the old one. Every store in jwtkit has it
// (store.UserWriter).
type HashWriter interface {
	CompareAndSwapPasswordHash(ctx context.Context, userID, old, new string) (swapped bool, err error)
}

// TokenHandler is the OAuth 2.0 token endpoint (RFC 6749) for the
// resource owner password grant and the refresh_token grant, with the
// FastAPI recipe's response shape. It also provides the recipe's
// POST /refresh, an RFC 7009 revocation endpoint, a logout endpoint and
// subject-wide revocation. It is safe for concurrent use.
//
// The password grant is meant for first-party clients only (RFC 9700 §2.4
// advises against it for third parties).
type TokenHandler struct {
	cfg       TokenHandlerConfig
	hashSlots chan struct{}
	devices   *deviceCookies
	// origins tells a browser's request for a page of another origin
	// (Sec-Fetch-Site, else Origin against Host) from others. The token
	// endpoint serves cross-origin clients; it only keeps such requests
	// from the trust the guard places in the client's address.
	origins *http.CrossOriginProtection
	// proxyWarning warns once about forwarding headers when ClientAddr is
	// the default; nil otherwise.
	proxyWarning *sync.Once
	cookies      *cookieSessions // nil without TokenHandlerConfig.Cookies
	refreshLimit *refreshLimiter // nil when RefreshLimit.Off
	// pause waits for d or until ctx ends; tests replace it.
	pause func(ctx context.Context, d time.Duration)
}

// NewTokenHandler checks cfg and returns a TokenHandler.
func NewTokenHandler(cfg TokenHandlerConfig) (*TokenHandler, error) {
	if cfg.Users == nil || cfg.Issuer == nil || cfg.Verifier == nil {
		return nil, fmt.Errorf("%w: TokenHandlerConfig needs Users, Issuer and Verifier", ErrConfig)
	}
	if cfg.Passwords == nil {
		cfg.Passwords = &password.Hasher{}
	}
	if err := cfg.Passwords.Validate(); err != nil {
		return nil, fmt.Errorf("authserver: password hasher: %w", err)
	}
	if cfg.AccessTTL < 0 || cfg.RefreshTTL < 0 || cfg.FamilyTTL < 0 || cfg.Grace < 0 || cfg.MaxBody < 0 ||
		cfg.HashQueueWait < 0 || cfg.MaxConcurrentHashes < 0 || cfg.StoreTimeout < 0 {
		return nil, fmt.Errorf("%w: negative duration, size or count", ErrConfig)
	}
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = defaultAccessTTL
	}
	if cfg.RefreshTTL == 0 {
		cfg.RefreshTTL = defaultRefreshTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FamilyTTL == 0 {
		cfg.FamilyTTL = defaultFamilyTTL
	}
	if cfg.Grace > time.Minute {
		return nil, fmt.Errorf("%w: Grace above one minute defeats reuse detection", ErrConfig)
	}
	switch {
	case cfg.NoGrace:
		cfg.Grace = 0
	case cfg.Grace == 0:
		cfg.Grace = defaultGrace
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = defaultMaxBody
	}
	if cfg.MaxConcurrentHashes == 0 {
		cfg.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	if cfg.HashQueueWait == 0 {
		cfg.HashQueueWait = 2 * time.Second
	}
	var proxyWarning *sync.Once
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = RemoteAddr
		proxyWarning = new(sync.Once)
	}
	if cfg.Guard == nil {
		g, err := newMemGuard()
		if err != nil {
			return nil, err
		}
		cfg.Guard = g
	}
	devices, err := newDeviceCookies(cfg.DeviceCookie, cfg.Now)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Audit == nil {
		cfg.Audit = LogAudit(cfg.Logger)
	}
	if cfg.ErrorWriter == nil {
		cfg.ErrorWriter = DefaultErrorWriter
	}
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = 2 * time.Second
	}
	cookies, err := newCookieSessions(cfg.Cookies, cfg.Refresh != nil)
	if err != nil {
		return nil, err
	}
	limiter, err := newRefreshLimiter(cfg.RefreshLimit, cfg.Now)
	if err != nil {
		return nil, err
	}
	return &TokenHandler{cfg: cfg, hashSlots: make(chan struct{}, cfg.MaxConcurrentHashes), pause: pauseCtx,
		devices: devices, proxyWarning: proxyWarning, cookies: cookies, refreshLimit: limiter,
		origins: http.NewCrossOriginProtection()}, nil
}

func pauseCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// tokenResponse is the RFC 6749 §5.1 success body; access_token and
// token_type are also the recipe's.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// Error is an error answer of the token, refresh, revoke or logout
// endpoint: the fields of RFC 6749 §5.2 (and RFC 7009, RFC 6750 for
// logout) as data, for an [ErrorWriter] to put in the format the service
// speaks.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the RFC 6749 error code: invalid_request, invalid_grant,
	// invalid_scope, unsupported_grant_type, slow_down,
	// temporarily_unavailable or invalid_token.
	Code string
	// Description is the error_description: fixed text for developers,
	// never user input or error text from a store.
	Description string
	// Detail is the message of the FastAPI recipe's {"detail": …} body.
	Detail string
	// RetryAfter, when positive, belongs in a Retry-After header.
	RetryAfter time.Duration
	// Challenge, when set, belongs in a WWW-Authenticate header.
	Challenge string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// ErrorWriter writes an error answer. Writers must write e.Challenge to
// WWW-Authenticate and e.RetryAfter to Retry-After (in whole seconds,
// rounded up) when they are set, and may choose the body. The handler has
// already set Cache-Control: no-store.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, e *Error)

// DefaultErrorWriter answers with the FastAPI recipe's body plus the RFC
// 6749 fields: {"detail": …, "error": …, "error_description": …}.
func DefaultErrorWriter(w http.ResponseWriter, _ *http.Request, e *Error) {
	h := w.Header()
	if e.Challenge != "" {
		h.Set("WWW-Authenticate", e.Challenge)
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", RetryAfterSeconds(e.RetryAfter))
	}
	writeJSON(w, e.Status, struct {
		Detail      string `json:"detail"`
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{e.Detail, e.Code, e.Description})
}

// RetryAfterSeconds formats d for a Retry-After header: whole seconds,
// rounded up.
func RetryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// writeError answers e through the configured writer. Error answers are
// never cached (RFC 6749 §5.1 asks it of token responses; an error is no
// different).
func (h *TokenHandler) writeError(w http.ResponseWriter, r *http.Request, e *Error) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	h.cfg.ErrorWriter(w, r, e)
}

var (
	errBadCredentials = &Error{Status: http.StatusUnauthorized, Code: "invalid_grant",
		Description: "incorrect username or password", Detail: "Incorrect username or password", Challenge: "Bearer"}
	errBadRefresh = &Error{Status: http.StatusBadRequest, Code: "invalid_grant",
		Description: "the refresh token is invalid, expired or revoked", Detail: "Invalid refresh token"}
	errUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
		Description: "the service cannot answer now; retry later", Detail: "Service unavailable", RetryAfter: 5 * time.Second}
	errBusy = &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
		Description: "too many logins in progress; retry later", Detail: "Service busy", RetryAfter: time.Second}
	errMalformedScope = &Error{Status: http.StatusBadRequest, Code: "invalid_scope",
		Description: "malformed scope", Detail: "Invalid scope"}
	errScopeNotHeld = &Error{Status: http.StatusBadRequest, Code: "invalid_scope",
		Description: "a requested scope is not granted to this user", Detail: "Invalid scope"}
)

var errMethod = &Error{Status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "use POST", Detail: "Method Not Allowed"}

func invalidRequest(desc string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: desc, Detail: "Invalid request: " + desc}
}

// readForm reads an application/x-www-form-urlencoded body, capped, and
// refuses repeated parameters (RFC 6749 §3.2) and credentials in the
// query string. JSON bodies are accepted only when allowJSON is set (the
// recipe's POST /refresh).
func (h *TokenHandler) readForm(w http.ResponseWriter, r *http.Request, allowJSON bool) (url.Values, *Error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, errMethod
	}
	if r.URL.RawQuery != "" {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, invalidRequest("malformed query string")
		}
		for _, k := range []string{"username", "password", "refresh_token", "token", "client_secret", "access_token"} {
			if q.Has(k) {
				return nil, invalidRequest("credentials must be sent in the request body")
			}
		}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isJSON := err == nil && mt == "application/json"
	if err != nil || (mt != "application/x-www-form-urlencoded" && !(allowJSON && isJSON)) {
		return nil, invalidRequest("the body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "invalid_request", Description: "request body too large", Detail: "Request body too large"}
		}
		return nil, invalidRequest("unreadable body")
	}
	if isJSON {
		return jsonForm(body)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest("malformed form body")
	}
	for k, vs := range form {
		if len(vs) > 1 {
			return nil, invalidRequest("parameter " + safeParamName(k) + " is repeated")
		}
	}
	return form, nil
}

// safeParamName keeps client text out of error messages unless it is a
// plain parameter name.
func safeParamName(k string) string {
	if len(k) > 32 {
		return "(name)"
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return "(name)"
		}
	}
	return k
}

// ServeHTTP is the token endpoint: grant_type=password (or absent) and
// grant_type=refresh_token.
//
// A refresh grants the scopes of the presented refresh token that the
// user still holds: scopes taken from an account after login end at its
// next refresh. A request that names scopes gets exactly those, or
// invalid_scope if one is beyond the refresh token's or no longer held.
func (h *TokenHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	form, oerr := h.readForm(w, r, false)
	if oerr != nil {
		h.writeError(w, r, oerr)
		return
	}
	var resp *tokenResponse
	switch gt := form.Get("grant_type"); {
	case gt == "password" || (gt == "" && !form.Has("grant_type") && !h.cfg.RequireGrantType):
		resp, oerr = h.passwordGrant(w, r, form)
	case gt == "refresh_token":
		resp, oerr = h.refreshGrant(r, form.Get("refresh_token"), form.Get("scope"), form.Has("scope"))
	case gt == "":
		oerr = invalidRequest("grant_type is required")
	default:
		oerr = &Error{Status: http.StatusBadRequest, Code: "unsupported_grant_type",
			Description: "supported grant types: password, refresh_token", Detail: "Unsupported grant type"}
	}
	if oerr != nil {
		h.writeError(w, r, oerr)
		return
	}
	writeTokenResponse(w, resp)
}

// RefreshHandler is the recipe's POST /refresh: it takes refresh_token
// from a form or a JSON body and answers like the refresh_token grant.
func (h *TokenHandler) RefreshHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, oerr := h.readForm(w, r, true)
		if oerr != nil {
			h.writeError(w, r, oerr)
			return
		}
		resp, oerr := h.refreshGrant(r, form.Get("refresh_token"), form.Get("scope"), form.Has("scope"))
		if oerr != nil {
			h.writeError(w, r, oerr)
			return
		}
		writeTokenResponse(w, resp)
	})
}

func writeTokenResponse(w http.ResponseWriter, resp *tokenResponse) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

func (h *TokenHandler) storeCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), h.cfg.StoreTimeout)
}

// passwordGrant authenticates the user. Every failure after the
// parameters are read costs one password comparison and yields the same
// response, so neither timing nor body tells unknown, disabled and wrong.
func (h *TokenHandler) passwordGrant(w http.ResponseWriter, r *http.Request, form url.Values) (*tokenResponse, *Error) {
	username, pw := form.Get("username"), form.Get("password")
	switch {
	case username == "":
		return nil, invalidRequest("username is required")
	case pw == "":
		return nil, invalidRequest("password is required")
	case len(username) > maxUsernameBytes:
		return nil, invalidRequest("username too long")
	}
	requested, ok := parseScope(form.Get("scope"))
	if !ok {
		return nil, errMalformedScope
	}
	addr := h.clientAddr(r)
	ctx := r.Context()
	device, deviceCred := h.devices.device(r, username)
	crossOrigin := h.origins.Check(r) != nil
	attempt, oerr := h.beginAttempt(ctx, Login{Username: username, ClientAddr: addr, Device: device, CrossOrigin: crossOrigin})
	if oerr != nil {
		return nil, oerr
	}
	// Whatever ends the attempt first (Failure, Success) makes this a
	// no-op; every path that never compares the password releases it.
	defer func() { h.recordOutcome(ctx, attempt.Release) }()

	// The session starts when the password check does: a RevokeAll whose
	// cut-off falls after this instant (a password change racing this
	// login) revokes it, even though its tokens are minted later.
	started := h.cfg.Now()
	sctx, cancel := h.storeCtx(r)
	user, err := h.cfg.Users.UserByUsername(sctx, username)
	cancel()
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.cfg.Logger.LogAttrs(ctx, slog.LevelError, "jwtkit: user lookup failed", slog.String("error", err.Error()))
		return nil, errUnavailable
	}
	if device != "" && (!found || !h.devices.current(deviceCred, user.PasswordHash)) {
		// The device cookie predates the account's current password (or
		// the account): it vouches for nothing now, so the attempt draws
		// on the shared budget after all.
		h.recordOutcome(ctx, attempt.Release)
		if attempt, oerr = h.beginAttempt(ctx, Login{Username: username, ClientAddr: addr, CrossOrigin: crossOrigin}); oerr != nil {
			return nil, oerr
		}
	}

	if !h.acquireHashSlot(ctx) {
		return nil, errBusy
	}
	stored := "" // no account: Verify makes the dummy comparison
	if found {
		stored = user.PasswordHash
	}
	wait, cmpErr := h.cfg.Passwords.Verify(stored, pw)
	<-h.hashSlots

	if !found || cmpErr != nil || user.Disabled {
		if found && cmpErr != nil && !errors.Is(cmpErr, password.ErrMismatch) && !errors.Is(cmpErr, password.ErrTooLong) {
			h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "jwtkit: stored password hash rejected", slog.String("user_id", user.ID), slog.String("error", cmpErr.Error()))
		}
		// Counted before the wait below, and whether or not the client
		// is still there: hanging up early must not save a guess.
		h.recordOutcome(ctx, attempt.Failure)
		if wait > 0 {
			// A legacy hash fails faster than an unknown user's dummy
			// comparison: wait out the difference, without a hash slot.
			h.pause(ctx, wait)
		}
		reason := "bad_credentials"
		if found && cmpErr == nil {
			reason = "disabled"
		}
		h.cfg.Audit(ctx, AuditEvent{Kind: AuditLoginFailure, ClientAddr: addr, Reason: reason})
		return nil, errBadCredentials
	}
	scopes := user.Scopes
	if len(requested) > 0 {
		for _, s := range requested {
			if !slices.Contains(user.Scopes, s) {
				return nil, errScopeNotHeld
			}
		}
		scopes = requested
	}

	if h.cfg.Rehash != nil && h.cfg.Passwords.NeedsRehash(user.PasswordHash) {
		h.rehash(r, user, pw)
	}

	resp, oerr := h.startSession(r, user, scopes, started)
	if oerr == errRevokedDuringLogin {
		// The password matched the account as it was before a RevokeAll
		// (a password change): no session, and a retry decides with the
		// account as it is now. (The attempt is released: neither a
		// failure nor a success.)
		h.cfg.Audit(ctx, AuditEvent{Kind: AuditLoginFailure, Subject: user.ID, ClientAddr: addr, Reason: "revoked"})
		return nil, errRetryLogin
	}
	if oerr == nil {
		// Only a login that produced a session counts as a success: it
		// resets the failures and vouches for the client.
		h.recordOutcome(ctx, attempt.Success)
		h.devices.issue(w, r, username, user.PasswordHash)
		h.cfg.Audit(ctx, AuditEvent{Kind: AuditLoginSuccess, Subject: user.ID, ClientAddr: addr})
	}
	return resp, oerr
}

// forwardingHeaders are the headers reverse proxies add to name the
// client.
var forwardingHeaders = []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip"}

// clientAddr returns the client address of r. With the default ClientAddr
// it warns, once, when r came through a proxy: the connection's address
// is then the proxy's, shared by every client.
func (h *TokenHandler) clientAddr(r *http.Request) string {
	if h.proxyWarning != nil {
		for _, name := range forwardingHeaders {
			if _, ok := r.Header[name]; ok {
				h.proxyWarning.Do(func() {
					h.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn,
						"jwtkit: a login request carries "+name+" but TokenHandlerConfig.ClientAddr is the connection address; "+
							"behind a reverse proxy every client shares the proxy's login budget: set ClientAddr to authserver.TrustedProxyAddr")
				})
				break
			}
		}
	}
	return h.cfg.ClientAddr(r)
}

// errRevokedDuringLogin marks a login whose session a RevokeAll revoked
// while it was being created; the client gets errRetryLogin.
var errRevokedDuringLogin = &Error{}

// errRetryLogin answers a login that raced a RevokeAll: the credentials
// it checked may have changed since, so the client retries.
var errRetryLogin = &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
	Description: "the account changed during the login; retry", Detail: "Try again", RetryAfter: time.Second}

// beginAttempt asks the guard to let a login attempt through.
func (h *TokenHandler) beginAttempt(ctx context.Context, l Login) (*Attempt, *Error) {
	addr := l.ClientAddr
	// A guard keeps its state in a store too: bound it like the others.
	gctx, cancel := context.WithTimeout(ctx, h.cfg.StoreTimeout)
	attempt, err := h.cfg.Guard.Begin(gctx, l)
	cancel()
	var te *ThrottledError
	switch {
	case err == nil:
		return attempt, nil
	case errors.As(err, &te) || errors.Is(err, ErrThrottled):
		h.cfg.Audit(ctx, AuditEvent{Kind: AuditLoginThrottled, ClientAddr: addr})
		wait := time.Second
		if te != nil {
			wait = max(te.RetryAfter, time.Second)
		}
		return nil, &Error{Status: http.StatusTooManyRequests, Code: "slow_down",
			Description: "too many attempts; retry later", Detail: "Too many attempts", RetryAfter: wait}
	default:
		h.cfg.Logger.LogAttrs(ctx, slog.LevelError, "jwtkit: login guard failed", slog.String("error", err.Error()))
		return nil, errUnavailable
	}
}

// recordOutcome reports an attempt's end (one of its methods) to the
// guard. The call outlives the request's cancellation (bounded by
// StoreTimeout): a client that hangs up must not keep its failure from
// being counted, nor its place from being given back.
func (h *TokenHandler) recordOutcome(ctx context.Context, end func(context.Context)) {
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.StoreTimeout)
	defer cancel()
	end(octx)
}

func (h *TokenHandler) acquireHashSlot(ctx context.Context) bool {
	select {
	case h.hashSlots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(h.cfg.HashQueueWait)
	defer t.Stop()
	select {
	case h.hashSlots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (h *TokenHandler) rehash(r *http.Request, user store.User, pw string) {
	if !h.acquireHashSlot(r.Context()) {
		return // the upgrade waits for a quieter login
	}
	hash, err := h.cfg.Passwords.Hash(pw)
	<-h.hashSlots
	if err != nil {
		return
	}
	sctx, cancel := h.storeCtx(r)
	defer cancel()
	// Only over the hash this login checked: a password changed since
	// then stays changed, and the upgrade waits for the next login.
	if _, err := h.cfg.Rehash.CompareAndSwapPasswordHash(sctx, user.ID, user.PasswordHash, hash); err != nil {
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "jwtkit: password hash upgrade failed", slog.String("user_id", user.ID), slog.String("error", err.Error()))
	}
}

// startSession issues an access token and, with a refresh store, the first
// refresh token of a new family. Both are minted before the family is
// stored, and the family is stored before any token leaves: a failure at
// any step leaves neither tokens nor a family behind.
//
// The family is dated started, when the password check began, so that a
// RevokeAll with a later cut-off revokes it; and the session is checked
// against the revocation store before it is handed out, so that a login
// racing a password change gets errRevokedDuringLogin instead of tokens
// that are revoked (with a family) or, without one, would not be.
func (h *TokenHandler) startSession(r *http.Request, user store.User, scopes []string, started time.Time) (*tokenResponse, *Error) {
	extra, oerr := h.customClaims(r, user, scopes)
	if oerr != nil {
		return nil, oerr
	}
	var fam store.Family
	if h.cfg.Refresh != nil {
		fam = store.Family{ID: tokenid.New(), Subject: user.ID, CreatedAt: started, ExpiresAt: started.Add(h.cfg.FamilyTTL)}
	}
	// Access tokens never outlive their family.
	at, err := h.cfg.Issuer.IssueAccess(r.Context(), jwt.Grant{Subject: user.ID, Scopes: scopes, FamilyID: fam.ID, TTL: h.cfg.AccessTTL, ExpiresAt: fam.ExpiresAt, Extra: extra})
	if err != nil {
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "jwtkit: issuing access token failed", slog.String("error", err.Error()))
		return nil, errUnavailable
	}
	resp := newTokenResponse(at, "", scopes)
	if h.cfg.Refresh == nil {
		return resp, h.revokedSince(r, user.ID, "", started)
	}
	rt, err := h.cfg.Issuer.IssueRefresh(r.Context(), jwt.Grant{Subject: user.ID, Scopes: scopes, FamilyID: fam.ID, TTL: h.cfg.RefreshTTL, ExpiresAt: fam.ExpiresAt})
	if err != nil {
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "jwtkit: issuing refresh token failed", slog.String("error", err.Error()))
		return nil, errUnavailable
	}
	sctx, cancel := h.storeCtx(r)
	err = h.cfg.Refresh.CreateFamily(sctx, fam, refreshRecord(rt.Claims))
	cancel()
	if err != nil {
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "jwtkit: storing refresh family failed", slog.String("error", err.Error()))
		return nil, errUnavailable
	}
	if oerr := h.revokedSince(r, user.ID, fam.ID, started); oerr != nil {
		return nil, oerr
	}
	resp.RefreshToken = rt.Raw
	return resp, nil
}

// revokedSince returns errRevokedDuringLogin when a RevokeAll for subject
// has a cut-off after started, the beginning of the login: the check runs
// after the session exists, so a RevokeAll that comes later revokes the
// session through the store instead. Without a revocation store there is
// no RevokeAll to race.
func (h *TokenHandler) revokedSince(r *http.Request, subject, familyID string, started time.Time) *Error {
	if h.cfg.Revocations == nil {
		return nil
	}
	sctx, cancel := h.storeCtx(r)
	defer cancel()
	// A token dated started with sub-second precision: revoked exactly
	// when a cut-off lies after started (cut-offs are whole seconds), or
	// when the family is revoked already.
	revoked, err := h.cfg.Revocations.IsRevoked(sctx, store.TokenRef{ID: tokenid.New(), Subject: subject, FamilyID: familyID, IssuedAt: started})
	switch {
	case err != nil:
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "jwtkit: revocation check failed", slog.String("error", err.Error()))
		return errUnavailable
	case revoked:
		return errRevokedDuringLogin
	}
	return nil
}

// reservedClaims are the claims jwtkit writes itself; custom claims may
// not name them, in any case.
var reservedClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "typ", "scope", "sid", "cnf", "client_id"}

// customClaims runs the Claims hook for user and returns its claims ready
// for jwt.Grant.Extra (nil when there are none). A hook error, a reserved
// name or a value that does not marshal fails the grant before anything
// is stored.
func (h *TokenHandler) customClaims(r *http.Request, user store.User, scopes []string) (any, *Error) {
	if h.cfg.Claims == nil {
		return nil, nil
	}
	extra, err := h.cfg.Claims(r.Context(), user, slices.Clone(scopes))
	var raw json.RawMessage
	if err == nil {
		raw, err = marshalCustomClaims(extra)
	}
	if err != nil {
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "jwtkit: custom claims failed", slog.String("user_id", user.ID), slog.String("error", err.Error()))
		return nil, errUnavailable
	}
	if raw == nil {
		return nil, nil
	}
	return raw, nil
}

// marshalCustomClaims checks the names of extra and encodes it once, so
// that a value that cannot be encoded fails before a rotation is stored.
func marshalCustomClaims(extra map[string]any) (json.RawMessage, error) {
	if len(extra) == 0 {
		return nil, nil
	}
	for name := range extra {
		for _, r := range reservedClaims {
			if strings.EqualFold(name, r) {
				return nil, fmt.Errorf("%w: %q", ErrReservedClaim, name)
			}
		}
	}
	raw, err := json.Marshal(extra)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCustomClaims, err)
	}
	return raw, nil
}

func newTokenResponse(access *jwt.Token, refreshRaw string, scopes []string) *tokenResponse {
	return &tokenResponse{
		AccessToken:  access.Raw,
		TokenType:    "bearer",
		ExpiresIn:    int64(access.Claims.ExpiresAt.Sub(access.Claims.IssuedAt) / time.Second),
		RefreshToken: refreshRaw,
		Scope:        strings.Join(scopes, " "),
	}
}

func refreshRecord(c *jwt.Claims) store.RefreshToken {
	return store.RefreshToken{
		ID: store.TokenID(c.ID), FamilyID: c.FamilyID, Subject: c.Subject,
		IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt,
	}
}

// refreshGrant rotates a refresh token (RFC 6749 §6, RFC 9700 §4.14.2).
func (h *TokenHandler) refreshGrant(r *http.Request, raw, scopeParam string, hasScope bool) (*tokenResponse, *Error) {
	if h.cfg.Refresh == nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: "unsupported_grant_type",
			Description: "refresh tokens are not enabled", Detail: "Unsupported grant type"}
	}
	if raw == "" {
		return nil, invalidRequest("refresh_token is required")
	}
	ctx := r.Context()
	addr := h.cfg.ClientAddr(r)
	claims, err := h.cfg.Verifier.VerifyRefresh(ctx, raw)
	if err != nil {
		h.cfg.Audit(ctx, AuditEvent{Kind: AuditRefreshFailure, ClientAddr: addr, Reason: "invalid_token"})
		return nil, errBadRefresh
	}
	// Only signed tokens reach the limiter, so nobody can spend another
	// session's budget.
	if ok, wait := h.refreshLimit.allow(claims.Subject, claims.FamilyID); !ok {
		h.cfg.Audit(ctx, AuditEvent{Kind: AuditRefreshFailure, Subject: claims.Subject, FamilyID: claims.FamilyID, ClientAddr: addr, Reason: "rate_limited"})
		return nil, errRefreshLimited(wait)
	}
	scopes, explicit := claims.Scopes, false
	if hasScope {
		requested, ok := parseScope(scopeParam)
		if !ok {
			return nil, errMalformedScope
		}
		for _, s := range requested {
			if !claims.HasScope(s) {
				return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_scope",
					Description: "a refresh cannot widen the granted scope", Detail: "Invalid scope"}
			}
		}
		if len(requested) > 0 {
			scopes, explicit = requested, true
		}
	}

	sctx, cancel := h.storeCtx(r)
	defer cancel()
	user, err := h.cfg.Users.UserByID(sctx, claims.Subject)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.cfg.Logger.LogAttrs(ctx, slog.LevelError, "jwtkit: user lookup failed", slog.String("error", err.Error()))
		return nil, errUnavailable
	}
	if err != nil || user.Disabled {
		if rerr := h.cfg.Refresh.RevokeFamily(sctx, claims.Subject, claims.FamilyID); rerr != nil {
			return nil, errUnavailable
		}
		h.cfg.Audit(ctx, AuditEvent{Kind: AuditRefreshFailure, Subject: claims.Subject, FamilyID: claims.FamilyID, ClientAddr: addr, Reason: "user_unavailable"})
		return nil, errBadRefresh
	}

	// The user's scopes may have shrunk since login: a scope taken away
	// must not live on through refreshes until the family ends.
	// A scope asked for by name that the user no longer holds is refused,
	// as at login, rather than silently left out of the grant.
	granted := currentScopes(claims.Scopes, user.Scopes)
	if explicit {
		if len(currentScopes(scopes, user.Scopes)) != len(scopes) {
			return nil, errScopeNotHeld
		}
	} else {
		scopes = granted
	}
	extra, oerr := h.customClaims(r, user, scopes)
	if oerr != nil {
		return nil, oerr
	}

	now := h.cfg.Now()
	nextID := tokenid.New()
	stored, err := h.cfg.Refresh.Rotate(sctx, store.Rotation{
		PresentedID: store.TokenID(claims.ID),
		Subject:     claims.Subject,
		FamilyID:    claims.FamilyID,
		Next: store.RefreshToken{
			ID: store.TokenID(nextID), FamilyID: claims.FamilyID, Subject: claims.Subject,
			IssuedAt: now, ExpiresAt: now.Add(h.cfg.RefreshTTL),
		},
		Now:   now,
		Grace: h.cfg.Grace,
	})
	switch {
	case errors.Is(err, store.ErrReused):
		h.cfg.Audit(ctx, AuditEvent{Kind: AuditReuseDetected, Subject: claims.Subject, FamilyID: claims.FamilyID, ClientAddr: addr})
		return nil, errBadRefresh
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrRevoked), errors.Is(err, store.ErrExpired):
		h.cfg.Audit(ctx, AuditEvent{Kind: AuditRefreshFailure, Subject: claims.Subject, FamilyID: claims.FamilyID, ClientAddr: addr, Reason: reasonOf(err)})
		return nil, errBadRefresh
	case errors.Is(err, store.ErrSuperseded):
		// A request the store received late, after the client's retry
		// won: the client already holds the live token.
		h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "jwtkit: late refresh superseded by a retry", slog.String("error", err.Error()))
		return nil, errUnavailable
	case err != nil:
		h.cfg.Logger.LogAttrs(ctx, slog.LevelError, "jwtkit: refresh rotation failed", slog.String("error", err.Error()))
		return nil, errUnavailable
	}

	rt, err := h.cfg.Issuer.IssueRefresh(ctx, jwt.Grant{Subject: claims.Subject, Scopes: granted, FamilyID: claims.FamilyID, ID: nextID, TTL: h.cfg.RefreshTTL, ExpiresAt: stored.ExpiresAt})
	if err != nil {
		return nil, errUnavailable
	}
	at, err := h.cfg.Issuer.IssueAccess(ctx, jwt.Grant{Subject: claims.Subject, Scopes: scopes, FamilyID: claims.FamilyID, TTL: h.cfg.AccessTTL, ExpiresAt: stored.ExpiresAt, Extra: extra})
	if err != nil {
		return nil, errUnavailable
	}
	h.cfg.Audit(ctx, AuditEvent{Kind: AuditRefresh, Subject: claims.Subject, FamilyID: claims.FamilyID, ClientAddr: addr})
	return newTokenResponse(at, rt.Raw, scopes), nil
}

// currentScopes returns the scopes in want that the user still holds, in
// want's order.
func currentScopes(want, held []string) []string {
	out := make([]string, 0, len(want))
	for _, s := range want {
		if slices.Contains(held, s) {
			out = append(out, s)
		}
	}
	return out
}

func reasonOf(err error) string {
	switch {
	case errors.Is(err, store.ErrRevoked):
		return "revoked"
	case errors.Is(err, store.ErrExpired):
		return "expired"
	}
	return "unknown_token"
}

// parseScope splits an RFC 6749 scope parameter. It reports false for
// empty elements or characters outside scope-token.
func parseScope(s string) ([]string, bool) {
	if s == "" {
		return nil, true
	}
	parts := strings.Split(s, " ")
	for _, p := range parts {
		if !httpauth.ValidScopeToken(p) {
			return nil, false
		}
	}
	return parts, true
}

// jsonForm reads a flat JSON object of string values, refusing repeated
// names as the form reader refuses repeated parameters (encoding/json
// alone would keep the last one silently).
func jsonForm(body []byte) (url.Values, *Error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, invalidRequest("the JSON body must be an object")
	}
	form := url.Values{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, invalidRequest("malformed JSON body")
		}
		k, _ := t.(string)
		if form.Has(k) {
			return nil, invalidRequest("parameter " + safeParamName(k) + " is repeated")
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, invalidRequest("parameter " + safeParamName(k) + " must be a string")
		}
		form.Set(k, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, invalidRequest("malformed JSON body")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalidRequest("data after the JSON body")
	}
	return form, nil
}
