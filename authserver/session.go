package authserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/jwtkit/jwtkit/internal/httpauth"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/store"
)

// RevokeHandler is an RFC 7009 token revocation endpoint. It takes token
// and an optional token_type_hint (a hint only: both kinds are tried). A
// refresh token ends its whole family (session); an access token is
// denylisted until its exp plus leeway when a revocation store is
// configured. Unknown, invalid and already revoked tokens get 200 too, as
// RFC 7009 §2.2 requires, so the endpoint is no validity oracle. A store
// failure gets 503.
func (h *TokenHandler) RevokeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, oerr := h.readForm(w, r, false)
		if oerr != nil {
			h.writeError(w, r, oerr)
			return
		}
		raw := form.Get("token")
		if raw == "" {
			h.writeError(w, r, invalidRequest("token is required"))
			return
		}
		if err := h.revokeAny(r, raw); err != nil {
			h.writeError(w, r, errUnavailable)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	})
}

// LogoutHandler ends a session: the bearer access token in the
// Authorization header is denylisted and its family revoked; a
// refresh_token in the form body ends its family too. Either one alone is
// enough. It answers 200 {"detail":"Logged out"}, also when repeated;
// 401 when neither credential is valid; 503 when the store fails. The
// family is revoked before the access token is denylisted, so a logout
// answered 503 has either done nothing or already ended the session
// (refresh and access tokens alike), and repeating it completes it.
func (h *TokenHandler) LogoutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			h.writeError(w, r, errMethod)
			return
		}
		var refresh string
		if r.ContentLength != 0 && r.Header.Get("Content-Type") != "" {
			form, oerr := h.readForm(w, r, true)
			if oerr != nil {
				h.writeError(w, r, oerr)
				return
			}
			refresh = form.Get("refresh_token")
		}
		var access, rc *jwt.Claims
		if raw, err := httpauth.BearerToken(r, 0); err == nil {
			access, _ = h.cfg.Verifier.VerifyAccess(r.Context(), raw)
		}
		if refresh != "" {
			rc, _ = h.cfg.Verifier.VerifyRefresh(r.Context(), refresh)
		}
		ended := access != nil || rc != nil
		if err := h.endSession(r, access, rc); err != nil {
			h.writeError(w, r, errUnavailable)
			return
		}
		if !ended {
			h.writeError(w, r, errNoSession)
			return
		}
		h.cfg.Audit(r.Context(), AuditEvent{Kind: AuditLogout, ClientAddr: h.cfg.ClientAddr(r)})
		w.Header().Set("Cache-Control", "no-store")
		writeDetail(w, http.StatusOK, "Logged out")
	})
}

// errNoSession answers a logout without a valid token (RFC 6750 §3.1).
var errNoSession = &Error{Status: http.StatusUnauthorized, Code: "invalid_token",
	Description: "no valid token to log out", Detail: "Could not validate credentials",
	Challenge: httpauth.Challenge("", "invalid_token", "no valid token to log out", "")}

// revokeAny revokes raw as a refresh token or else as an access token.
// Tokens that verify as neither are ignored.
func (h *TokenHandler) revokeAny(r *http.Request, raw string) error {
	ctx := r.Context()
	c, err := h.cfg.Verifier.VerifyRefresh(ctx, raw)
	if err == nil {
		err = h.revokeFamily(r, c.Subject, c.FamilyID)
	} else if c, err = h.cfg.Verifier.VerifyAccess(ctx, raw); err == nil {
		err = h.revokeAccess(r, c, false)
	} else {
		return nil
	}
	if err != nil {
		return err
	}
	h.cfg.Audit(ctx, AuditEvent{Kind: AuditRevoke, Subject: c.Subject, FamilyID: c.FamilyID, ClientAddr: h.cfg.ClientAddr(r)})
	return nil
}

// endSession is a logout: it revokes the families of the refresh token rc
// and of the access token access (either may be nil), then denylists
// access. The order makes a logout that fails half-way safe: once a
// family is revoked, neither its refresh tokens nor its access tokens
// work (the revocation store reports the family's access tokens revoked),
// so what is left is only the denylist entry, and every step is
// idempotent, so a retried logout completes it.
func (h *TokenHandler) endSession(r *http.Request, access, rc *jwt.Claims) error {
	if rc != nil {
		if err := h.revokeFamily(r, rc.Subject, rc.FamilyID); err != nil {
			return err
		}
	}
	if access != nil {
		return h.revokeAccess(r, access, true)
	}
	return nil
}

// revokeAccess denylists an access token until exp plus the largest leeway
// a verifier may allow (jwt.MaxLeeway). With withFamily it first ends the
// session the token names, so that a failure of the denylist write leaves
// the token revoked through its family (see endSession).
func (h *TokenHandler) revokeAccess(r *http.Request, c *jwt.Claims, withFamily bool) error {
	if withFamily && c.FamilyID != "" {
		if err := h.revokeFamily(r, c.Subject, c.FamilyID); err != nil {
			return err
		}
	}
	if h.cfg.Revocations != nil && c.ID != "" {
		ctx, cancel := h.storeCtx(r)
		defer cancel()
		if err := h.cfg.Revocations.RevokeToken(ctx, tokenRef(c), c.ExpiresAt.Add(jwt.MaxLeeway+time.Second)); err != nil {
			h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "jwtkit: revoking access token failed", slog.String("error", err.Error()))
			return err
		}
	}
	return nil
}

func (h *TokenHandler) revokeFamily(r *http.Request, subject, familyID string) error {
	if h.cfg.Refresh == nil || familyID == "" {
		return nil
	}
	ctx, cancel := h.storeCtx(r)
	defer cancel()
	if err := h.cfg.Refresh.RevokeFamily(ctx, subject, familyID); err != nil {
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "jwtkit: revoking session failed", slog.String("error", err.Error()))
		return err
	}
	return nil
}

// ErrNoRevocationStore is returned by RevokeAll when the handler has no
// revocation store.
var ErrNoRevocationStore = errors.New("authserver: no revocation store configured")

// RevokeAll revokes every token issued to subject (a user ID) before now:
// access tokens, every refresh family, and every login still in progress
// (one whose password check began before the cut-off gets no session but
// 503 with Retry-After, so that the retry is judged against the account
// as it is after the change). Use it after a password change or a suspected compromise.
// It needs TokenHandlerConfig.Revocations, served by the same backend as
// Refresh. With jwtkit's login guards it also ends the trust in the
// addresses the account logged in from, and device cookies end with the
// password hash they were issued under, so that whoever knew an old
// password keeps no failure budget of their own.
//
// Tokens carry their issue time in whole seconds, so the cut-off is the
// next whole second, and RevokeAll returns once the clock has reached it
// (within a second): a login that starts after RevokeAll returns works.
// The store call is bounded by TokenHandlerConfig.StoreTimeout as well as
// by ctx.
func (h *TokenHandler) RevokeAll(ctx context.Context, subject string) error {
	if h.cfg.Revocations == nil {
		return ErrNoRevocationStore
	}
	now := h.cfg.Now()
	cutoff := now.Truncate(time.Second)
	if cutoff.Before(now) {
		cutoff = cutoff.Add(time.Second)
	}
	maxAge := max(h.cfg.FamilyTTL, h.cfg.AccessTTL, h.cfg.RefreshTTL) + jwt.MaxLeeway + time.Minute
	sctx, cancel := context.WithTimeout(ctx, h.cfg.StoreTimeout)
	err := h.cfg.Revocations.RevokeSubject(sctx, subject, cutoff, maxAge)
	cancel()
	if err != nil {
		return err
	}
	h.cfg.Audit(ctx, AuditEvent{Kind: AuditRevokeAll, Subject: subject})
	if err := h.forgetTrust(ctx, subject); err != nil {
		return err
	}
	h.pause(ctx, cutoff.Sub(h.cfg.Now()))
	return nil
}

// trustForgetter is a LoginGuard that trusts the addresses an account
// logged in from (authserver/throttle, authserver/redisthrottle).
type trustForgetter interface {
	ForgetTrust(ctx context.Context, username string) error
}

// forgetTrust ends the guard's trust in the addresses subject logged in
// from: whoever logged in with a password that is now changed must not
// keep a failure budget of their own. (Device cookies end with the
// password hash they are bound to.)
func (h *TokenHandler) forgetTrust(ctx context.Context, subject string) error {
	f, ok := h.cfg.Guard.(trustForgetter)
	if !ok {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, h.cfg.StoreTimeout)
	defer cancel()
	u, err := h.cfg.Users.UserByID(sctx, subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	return f.ForgetTrust(sctx, u.Username)
}
