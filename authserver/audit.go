package authserver

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// AuditKind names a security event.
type AuditKind string

// The audit events.
const (
	AuditLoginSuccess   AuditKind = "login_success"
	AuditLoginFailure   AuditKind = "login_failure"
	AuditLoginThrottled AuditKind = "login_throttled"
	AuditRefresh        AuditKind = "refresh"
	AuditRefreshFailure AuditKind = "refresh_failure"
	AuditReuseDetected  AuditKind = "refresh_reuse_detected"
	AuditLogout         AuditKind = "logout"
	AuditRevoke         AuditKind = "revoke"
	AuditRevokeAll      AuditKind = "revoke_all"
)

// AuditEvent describes a security event. It never holds a token, a
// password, a hash or an attempted username (which is often a mistyped
// password).
type AuditEvent struct {
	Kind       AuditKind
	Subject    string // user ID, when known
	FamilyID   string // refresh family (session), when known
	ClientAddr string
	Reason     string // a fixed word such as "bad_credentials" or "expired"
}

// AuditFunc receives audit events. It is called synchronously on the
// request path and must be fast and safe for concurrent use.
type AuditFunc func(ctx context.Context, e AuditEvent)

// LogAudit returns an AuditFunc that logs each event to l: failures and
// reuse at warning level, the rest at info.
func LogAudit(l *slog.Logger) AuditFunc {
	return func(ctx context.Context, e AuditEvent) {
		level := slog.LevelInfo
		switch e.Kind {
		case AuditLoginFailure, AuditLoginThrottled, AuditRefreshFailure, AuditReuseDetected:
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{slog.String("event", string(e.Kind))}
		if e.Subject != "" {
			attrs = append(attrs, slog.String("user_id", e.Subject))
		}
		if e.FamilyID != "" {
			attrs = append(attrs, slog.String("session", e.FamilyID))
		}
		if e.ClientAddr != "" {
			attrs = append(attrs, slog.String("client", e.ClientAddr))
		}
		if e.Reason != "" {
			attrs = append(attrs, slog.String("reason", e.Reason))
		}
		l.LogAttrs(ctx, level, "jwtkit audit", attrs...)
	}
}

// RemoteAddr returns the IP address of the connection, without the port.
func RemoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// TrustedProxyAddr returns a client-address function for a service behind
// reverse proxies. When the connection comes from one of the trusted
// proxies, the address is read from header (e.g. "X-Forwarded-For"),
// walking the list from the right and skipping trusted proxies, so a
// client cannot choose its address by sending the header itself. Other
// connections use RemoteAddr.
func TrustedProxyAddr(header string, trusted ...netip.Prefix) func(*http.Request) string {
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer := RemoteAddr(r)
		if !isTrusted(peer) {
			return peer
		}
		values := r.Header.Values(header)
		var hops []string
		for _, v := range values {
			hops = append(hops, strings.Split(v, ",")...)
		}
		for i := len(hops) - 1; i >= 0; i-- {
			h := strings.TrimSpace(hops[i])
			if h == "" {
				continue
			}
			if !isTrusted(h) {
				if a, err := netip.ParseAddr(h); err == nil {
					return a.Unmap().String()
				}
				return peer
			}
		}
		return peer
	}
}
