package authserver

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jwtkit/jwtkit/internal/csrf"
	"github.com/jwtkit/jwtkit/internal/httpauth"
)

// CookieConfig configures browser sessions, served by
// [TokenHandler.CookieHandler]. The refresh token travels only in an
// HttpOnly cookie, so page scripts (and an XSS) never read it; the access
// token is returned in the body for the page to keep in memory, or, with
// AccessCookie, in a cookie instead.
//
// Cookie names carry a prefix that browsers enforce: a __Host- or
// __Secure- cookie is accepted only from a secure origin with the Secure
// attribute, and a __Host- cookie only with Path=/ and no Domain, so no
// sibling subdomain can set it. The refresh cookie's Path is the handler's
// Path, so that it reaches only the three endpoints that read it, never
// the API's handlers and logs; __Host- would force Path=/, so under any
// other Path it is __Secure-jwtkit-refresh. What that gives up: a sibling
// subdomain served over https could set a cookie of that name. Next to the
// browser's own it only makes requests carry two, which are refused; in a
// browser without a session it would plant the sibling's session. Where
// sibling subdomains are not trusted, use Path "/": the refresh cookie is
// then __Host-jwtkit-refresh and travels with every request to the host. The access and CSRF cookies
// are read across the site and take Path=/ and __Host-:
//
//	__Secure-jwtkit-refresh (or __Host-)  refresh token, Path = CookieConfig.Path
//	__Host-jwtkit-access                  access token (AccessCookie only), Path=/
//	__Host-jwtkit-csrf                    double-submit token, Path=/
//
// Every cookie is HttpOnly and SameSite=Strict by default; Max-Age ends
// with the token (the refresh token never outlives the session's
// absolute lifetime, FamilyTTL). With InsecureHTTP the names have no
// prefix (jwtkit-refresh, jwtkit-access, jwtkit-csrf).
type CookieConfig struct {
	// Path is the path CookieHandler is mounted at, beginning and ending
	// with "/": it serves POST Path+"login", Path+"refresh" and
	// Path+"logout". Required.
	Path string
	// SameSite is http.SameSiteStrictMode or http.SameSiteLaxMode; None
	// is refused. Default: Strict.
	SameSite http.SameSite
	// AccessCookie delivers the access token in a cookie instead of the
	// response body; give middleware the cookie with
	// middleware.WithCookie. Default: false (the body carries it).
	AccessCookie bool
	// TrustedOrigins ("https://app.example.com") may send cross-origin
	// requests to the endpoints. Default: none.
	TrustedOrigins []string
	// InsecureHTTP drops the Secure attribute, and with it the name
	// prefixes, for development over plain http. Requests whose Host is
	// not localhost or a loopback address are then refused, so that the
	// setting cannot slip into a deployment. Default: false.
	InsecureHTTP bool
}

// AuditCSRFRefused reports a request to CookieHandler refused by CSRF
// protection; Reason names the endpoint.
const AuditCSRFRefused AuditKind = "csrf_refused"

// Cookie names; see CookieConfig.
const (
	cookieRefresh = "jwtkit-refresh"
	cookieAccess  = "jwtkit-access"
	cookieCSRF    = "jwtkit-csrf"
)

// cookieSessions is a validated CookieConfig, built once.
type cookieSessions struct {
	cfg                        CookieConfig
	refresh, access, csrfToken string // cookie names
	protect                    *csrf.Protection
}

func newCookieSessions(c *CookieConfig, hasRefresh bool) (*cookieSessions, error) {
	if c == nil {
		return nil, nil
	}
	cfg := *c
	cfg.TrustedOrigins = append([]string(nil), c.TrustedOrigins...)
	if !hasRefresh {
		return nil, fmt.Errorf("%w: Cookies needs a Refresh store", ErrConfig)
	}
	if !strings.HasPrefix(cfg.Path, "/") || !strings.HasSuffix(cfg.Path, "/") ||
		strings.ContainsAny(cfg.Path, ";, \t\r\n") {
		return nil, fmt.Errorf("%w: Cookies.Path must begin and end with / and hold no ; , or spaces", ErrConfig)
	}
	switch cfg.SameSite {
	case 0, http.SameSiteDefaultMode:
		cfg.SameSite = http.SameSiteStrictMode
	case http.SameSiteStrictMode, http.SameSiteLaxMode:
	default:
		return nil, fmt.Errorf("%w: Cookies.SameSite must be Strict or Lax", ErrConfig)
	}
	s := &cookieSessions{cfg: cfg, refresh: cookieRefresh, access: cookieAccess, csrfToken: cookieCSRF}
	if !cfg.InsecureHTTP {
		s.refresh = "__Secure-" + cookieRefresh
		if cfg.Path == "/" {
			s.refresh = "__Host-" + cookieRefresh
		}
		s.access = "__Host-" + cookieAccess
		s.csrfToken = "__Host-" + cookieCSRF
	}
	p, err := csrf.New(s.csrfToken, cfg.TrustedOrigins)
	if err != nil {
		return nil, fmt.Errorf("%w: Cookies.TrustedOrigins: %w", ErrConfig, err)
	}
	s.protect = p
	return s, nil
}

// cookieTokenResponse is the body of a cookie login or refresh: the token
// response without the refresh token, plus the double-submit token.
type cookieTokenResponse struct {
	AccessToken string `json:"access_token,omitempty"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
	CSRFToken   string `json:"csrf_token"`
}

var (
	errNotFound = &Error{Status: http.StatusNotFound, Code: "invalid_request",
		Description: "no such endpoint", Detail: "Not Found"}
	errCrossOrigin = &Error{Status: http.StatusForbidden, Code: "invalid_request",
		Description: "cross-origin request refused", Detail: "Cross-origin request refused"}
	errCSRFToken = &Error{Status: http.StatusForbidden, Code: "invalid_request",
		Description: "missing or wrong X-CSRF-Token header", Detail: "CSRF token missing or wrong"}
	errNotLoopback = &Error{Status: http.StatusForbidden, Code: "invalid_request",
		Description: "cookies without Secure are served to loopback hosts only", Detail: "Forbidden"}
	errTwoCookies = &Error{Status: http.StatusBadRequest, Code: "invalid_request",
		Description: "more than one refresh cookie", Detail: "Invalid request: more than one refresh cookie"}
	errNoCookie = &Error{Status: http.StatusBadRequest, Code: "invalid_grant",
		Description: "no session cookie", Detail: "Not authenticated"}
)

// CookieHandler serves browser sessions under TokenHandlerConfig.Cookies.Path:
//
//	POST login    username, password (and scope) as a form: starts a
//	              session (ending the one of a refresh cookie sent along),
//	              sets the cookies, answers like the token endpoint
//	              without refresh_token, plus csrf_token
//	POST refresh  rotates the refresh cookie and answers the same way
//	POST logout   ends the session of the refresh cookie (and of a bearer
//	              access token in Authorization), and clears the cookies
//
// Every request must pass CSRF protection: net/http's
// CrossOriginProtection (Sec-Fetch-Site, else Origin against Host) refuses
// cross-origin requests with 403, and refresh and logout requests that
// carry neither header must send the login's csrf_token in an
// X-CSRF-Token header (double submit: it equals the CSRF cookie). A
// refresh refused as invalid, expired, revoked or reused clears the
// cookies. Without Cookies configured, every request gets 404.
//
// The JSON endpoints (the token endpoint, RefreshHandler, LogoutHandler,
// RevokeHandler) never authenticate with cookies, so they need no CSRF
// protection. (The token endpoint reads a device cookie, which grants
// nothing: it only chooses the login-failure budget.)
func (h *TokenHandler) CookieHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := h.cookies
		var endpoint string
		if c != nil {
			endpoint, _ = strings.CutPrefix(r.URL.Path, c.cfg.Path)
		}
		if c == nil || endpoint == r.URL.Path || (endpoint != "login" && endpoint != "refresh" && endpoint != "logout") {
			h.writeError(w, r, errNotFound)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			h.writeError(w, r, errMethod)
			return
		}
		if c.cfg.InsecureHTTP && !loopbackHost(r.Host) {
			h.writeError(w, r, errNotLoopback)
			return
		}
		check := c.protect.Check
		if endpoint == "login" {
			check = c.protect.CheckOrigin // no session yet: nothing to double-submit
		}
		if err := check(r); err != nil {
			h.cfg.Audit(r.Context(), AuditEvent{Kind: AuditCSRFRefused, ClientAddr: h.cfg.ClientAddr(r), Reason: endpoint})
			if errors.Is(err, csrf.ErrToken) {
				h.writeError(w, r, errCSRFToken)
			} else {
				h.writeError(w, r, errCrossOrigin)
			}
			return
		}
		switch endpoint {
		case "login":
			h.cookieLogin(w, r)
		case "refresh":
			h.cookieRefresh(w, r)
		default:
			h.cookieLogout(w, r)
		}
	})
}

func (h *TokenHandler) cookieLogin(w http.ResponseWriter, r *http.Request) {
	form, oerr := h.readForm(w, r, false)
	if oerr == nil && form.Has("grant_type") && form.Get("grant_type") != "password" {
		oerr = &Error{Status: http.StatusBadRequest, Code: "unsupported_grant_type",
			Description: "this endpoint takes the password grant only", Detail: "Unsupported grant type"}
	}
	var resp *tokenResponse
	if oerr == nil {
		resp, oerr = h.passwordGrant(w, r, form)
	}
	if oerr != nil {
		h.writeError(w, r, oerr)
		return
	}
	// The new cookie replaces any earlier session of this browser; end
	// that one too rather than leave it alive and unreachable.
	if raw, oerr := h.cookies.refreshCookie(r); oerr == nil {
		if cl, err := h.cfg.Verifier.VerifyRefresh(r.Context(), raw); err == nil {
			_ = h.revokeFamily(r, cl.Subject, cl.FamilyID) // logged; the new session stands either way
		}
	}
	h.writeCookieSession(w, r, resp, csrf.NewToken())
}

func (h *TokenHandler) cookieRefresh(w http.ResponseWriter, r *http.Request) {
	c := h.cookies
	raw, oerr := c.refreshCookie(r)
	if oerr != nil {
		h.writeError(w, r, oerr)
		return
	}
	resp, oerr := h.refreshGrant(r, raw, "", false)
	if oerr != nil {
		if oerr == errBadRefresh {
			// Invalid, expired, revoked or reused (the family is now
			// revoked): the cookie opens nothing any more.
			c.clear(w)
		}
		h.writeError(w, r, oerr)
		return
	}
	// The CSRF token lives as long as the session, so that other tabs
	// holding it keep working after this one refreshes.
	token := csrf.NewToken()
	if old, err := r.Cookie(c.csrfToken); err == nil && validCSRFToken(old.Value) {
		token = old.Value
	}
	h.writeCookieSession(w, r, resp, token)
}

func (h *TokenHandler) cookieLogout(w http.ResponseWriter, r *http.Request) {
	c := h.cookies
	ctx := r.Context()
	ended := false
	if raw, oerr := c.refreshCookie(r); oerr == nil {
		if cl, err := h.cfg.Verifier.VerifyRefresh(ctx, raw); err == nil {
			if err := h.revokeFamily(r, cl.Subject, cl.FamilyID); err != nil {
				h.writeError(w, r, errUnavailable)
				return
			}
			ended = true
		}
	}
	access, _ := httpauth.BearerToken(r, 0)
	if access == "" && c.cfg.AccessCookie {
		if ck, err := r.Cookie(c.access); err == nil {
			access = ck.Value
		}
	}
	if access != "" {
		if cl, err := h.cfg.Verifier.VerifyAccess(ctx, access); err == nil {
			if err := h.revokeAccess(r, cl, true); err != nil {
				h.writeError(w, r, errUnavailable)
				return
			}
			ended = true
		}
	}
	// After a store failure (503 above) the cookies stay, so that the
	// logout can be retried; from here on the browser forgets them.
	c.clear(w)
	if !ended {
		h.writeError(w, r, errNoSession)
		return
	}
	h.cfg.Audit(ctx, AuditEvent{Kind: AuditLogout, ClientAddr: h.cfg.ClientAddr(r)})
	w.Header().Set("Cache-Control", "no-store")
	writeDetail(w, http.StatusOK, "Logged out")
}

// refreshCookie returns the one refresh cookie of r.
func (c *cookieSessions) refreshCookie(r *http.Request) (string, *Error) {
	cs := r.CookiesNamed(c.refresh)
	switch {
	case len(cs) > 1:
		return "", errTwoCookies
	case len(cs) == 0 || cs[0].Value == "":
		return "", errNoCookie
	}
	return cs[0].Value, nil
}

// writeCookieSession sets the session cookies for resp and answers with
// the body the page reads.
func (h *TokenHandler) writeCookieSession(w http.ResponseWriter, r *http.Request, resp *tokenResponse, csrfToken string) {
	c := h.cookies
	now := h.cfg.Now()
	// The refresh token's exp is never past the family's absolute expiry.
	sessionLeft := h.cfg.FamilyTTL
	if exp, ok := unverifiedExpiry(resp.RefreshToken); ok {
		sessionLeft = exp.Sub(now)
	}
	accessLeft := time.Duration(resp.ExpiresIn) * time.Second
	c.set(w, c.refresh, resp.RefreshToken, c.cfg.Path, sessionLeft)
	c.set(w, c.csrfToken, csrfToken, "/", sessionLeft)
	body := cookieTokenResponse{AccessToken: resp.AccessToken, TokenType: resp.TokenType,
		ExpiresIn: resp.ExpiresIn, Scope: resp.Scope, CSRFToken: csrfToken}
	if c.cfg.AccessCookie {
		c.set(w, c.access, resp.AccessToken, "/", accessLeft)
		body.AccessToken = ""
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, body)
}

func (c *cookieSessions) set(w http.ResponseWriter, name, value, path string, maxAge time.Duration) {
	secs := int((maxAge + time.Second - 1) / time.Second)
	if secs <= 0 {
		secs = -1 // already over: delete
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: secs,
		Secure: !c.cfg.InsecureHTTP, HttpOnly: true, SameSite: c.cfg.SameSite})
}

// clear deletes every session cookie.
func (c *cookieSessions) clear(w http.ResponseWriter) {
	c.set(w, c.refresh, "", c.cfg.Path, 0)
	c.set(w, c.csrfToken, "", "/", 0)
	if c.cfg.AccessCookie {
		c.set(w, c.access, "", "/", 0)
	}
}

// unverifiedExpiry reads the exp claim of a token this handler has just
// signed, without checking the signature again.
func unverifiedExpiry(raw string) (time.Time, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Exp == 0 {
		return time.Time{}, false
	}
	return time.Unix(c.Exp, 0), true
}

// validCSRFToken reports whether v has the form of csrf.NewToken's
// tokens, so that a planted value of any other form is replaced.
func validCSRFToken(v string) bool {
	if len(v) != 26 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", rune(v[i])) {
			return false
		}
	}
	return true
}

// loopbackHost reports whether the Host header names localhost or a
// loopback address.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
